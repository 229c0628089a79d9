"""Who may see and do what with a user account: every such rule of the app, in one place.

Resolvers and workflows ask these questions; types only carry the answers. A new model
gets a module of its own next to this one (`policies/lunch_group.py`: "only members see
a group"), written the same way: plain functions of the actor and the record, no I/O.
"""

from uuid import UUID

from lunchtogether.schemas.user import UserResponse, UserUpdate


def can_see_email(viewer: UserResponse | None, user: UserResponse) -> bool:
    """An email is private: only its owner and superusers see it."""
    return viewer is not None and (viewer.is_superuser or viewer.id == user.id)


def can_update_user(actor: UserResponse, user_id: UUID, changes: UserUpdate) -> bool:
    """Users edit themselves; superusers edit anyone, and alone set the account flags.

    Takes the target's id, not the account: the answer must not depend on whether it exists.
    """
    return actor.is_superuser or (user_id == actor.id and not changes.changes_flags)


def can_delete_user(actor: UserResponse) -> bool:
    """Only superusers delete accounts by id; users delete their own with `deleteAccount`, and its password check.

    Takes no target, so that the answer cannot depend on whether the id exists.
    """
    return actor.is_superuser
