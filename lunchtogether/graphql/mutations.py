from collections.abc import AsyncIterator
from uuid import UUID

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from lunchtogether.core.exceptions import InvalidInputError, NotFoundError
from lunchtogether.graphql import inputs
from lunchtogether.graphql.context import Context
from lunchtogether.graphql.extensions import transactional
from lunchtogether.graphql.queries import parse_id, user_as_seen_by
from lunchtogether.graphql.types import LoginPayload, RegisterPayload, UserType
from lunchtogether.schemas.user import UserUpdate
from lunchtogether.workflows.account import (
    delete_account,
    request_email_verification,
    request_password_reset,
    reset_password,
    verify_email,
)
from lunchtogether.workflows.session import refresh_session, revoke_session
from lunchtogether.workflows.user import (
    change_password,
    delete_user,
    login,
    logout,
    register,
    update_user,
    upload_avatar,
)

Info = strawberry.Info[Context, None]


@transactional
@strawberry.type
class Mutation:
    @strawberry.mutation(description="Creates an account; does not sign in.")
    async def register(self, info: Info, input: inputs.RegisterInput) -> RegisterPayload:
        data = register.RegisterInput(email=input.email, password=input.password, full_name=input.full_name)
        output = await info.context.deps.register().execute(data, client_ip=info.context.client_ip)
        return RegisterPayload(user=user_as_seen_by(output.user, output.user))

    @strawberry.mutation(description="Signs in and sets the access_token cookie.")
    async def login(self, info: Info, input: inputs.LoginInput) -> LoginPayload:
        data = login.LoginInput(
            email=input.email, password=input.password, user_agent=info.context.request.headers.get("user-agent")
        )
        output = await info.context.deps.login().execute(data, client_ip=info.context.client_ip)
        return _signed_in(info, output)

    @strawberry.mutation(
        description="Clears the cookie and ends the session (everywhere: every session of the user); "
        "true even when signed out."
    )
    async def logout(self, info: Info, everywhere: bool = False) -> bool:
        identity = await info.context.identity()
        await info.context.deps.logout().execute(logout.LogoutInput(everywhere=everywhere), actor=identity)
        info.context.sign_out()
        return True

    @strawberry.mutation(description="A fresh token of the same session; sets the cookie too.")
    async def refresh_session(self, info: Info) -> LoginPayload:
        identity = await info.context.require_identity()
        output = await info.context.deps.refresh_session().execute(
            refresh_session.RefreshSessionInput(), actor=identity
        )
        return _signed_in(info, output)

    @strawberry.mutation(
        description="Ends one of the user's own sessions; another user's or an unknown id is NOT_FOUND."
    )
    async def revoke_session(self, info: Info, id: strawberry.ID) -> bool:
        identity = await info.context.require_identity()
        data = revoke_session.RevokeSessionInput(session_id=_session_id(id))
        output = await info.context.deps.revoke_session().execute(data, actor=identity)
        if output.current:
            info.context.sign_out()
        return True

    @strawberry.mutation(description="Self or superuser; the account flags are superuser-only.")
    async def update_user(self, info: Info, id: strawberry.ID, input: inputs.UpdateUserInput) -> UserType:
        actor = await info.context.require_user()
        data = update_user.UpdateUserInput(
            user_id=parse_id(id), changes=UserUpdate.model_validate(inputs.provided_fields(input))
        )
        output = await info.context.deps.update_user().execute(data, actor=actor)
        return user_as_seen_by(actor, output.user)

    @strawberry.mutation(description="PNG, JPEG, WebP or GIF; stored re-encoded at 512x512 at most.")
    async def upload_avatar(self, info: Info, file: Upload) -> UserType:
        actor = await info.context.require_user()
        if not isinstance(file, UploadFile):
            raise InvalidInputError({"file": "must be a file sent with the multipart request spec"})
        data = upload_avatar.UploadAvatarInput(chunks=_chunks(file))
        output = await info.context.deps.upload_avatar().execute(data, actor=actor)
        return user_as_seen_by(actor, output.user)

    @strawberry.mutation(description="Signs out the user's other sessions.")
    async def change_password(self, info: Info, input: inputs.ChangePasswordInput) -> bool:
        identity = await info.context.require_identity()
        data = change_password.ChangePasswordInput(
            current_password=input.current_password, new_password=input.new_password
        )
        await info.context.deps.change_password().execute(data, actor=identity)
        return True

    @strawberry.mutation(description="Marks the address a verification link went to as verified; no sign-in needed.")
    async def verify_email(self, info: Info, token: str) -> UserType:
        output = await info.context.deps.verify_email().execute(verify_email.VerifyEmailInput(token=token))
        # Whoever holds the link reads the address's own mailbox: they see the account as its owner.
        return user_as_seen_by(output.user, output.user)

    @strawberry.mutation(description="Sends the signed-in user a new verification link; earlier ones stop working.")
    async def request_email_verification(self, info: Info) -> bool:
        actor = await info.context.require_user()
        data = request_email_verification.RequestEmailVerificationInput(user_id=actor.id, email=actor.email)
        await info.context.deps.request_email_verification().execute(data)
        return True

    @strawberry.mutation(description="Sends a reset link if an active account has the address; always true.")
    async def request_password_reset(self, info: Info, email: str) -> bool:
        data = request_password_reset.RequestPasswordResetInput(email=email)
        await info.context.deps.request_password_reset().execute(data, client_ip=info.context.client_ip)
        return True

    @strawberry.mutation(description="Sets a new password through a reset link and signs out every session.")
    async def reset_password(self, info: Info, input: inputs.ResetPasswordInput) -> bool:
        data = reset_password.ResetPasswordInput(token=input.token, new_password=input.new_password)
        await info.context.deps.reset_password().execute(data)
        return True

    @strawberry.mutation(description="Deletes the signed-in user, their sessions and files; clears the cookie.")
    async def delete_account(self, info: Info, password: str) -> bool:
        actor = await info.context.require_user()
        data = delete_account.DeleteAccountInput(password=password)
        await info.context.deps.delete_account().execute(data, actor=actor)
        info.context.sign_out()
        return True

    @strawberry.mutation(description="Superusers only: deletes a user, their sessions and files.")
    async def delete_user(self, info: Info, id: strawberry.ID) -> bool:
        actor = await info.context.require_user()
        data = delete_user.DeleteUserInput(user_id=parse_id(id))
        if not (await info.context.deps.delete_user().execute(data, actor=actor)).deleted:
            raise NotFoundError("No user has this id.")
        return True


def _session_id(value: str) -> UUID:
    """A malformed id names no session of the user's: NOT_FOUND, as for an unknown one."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFoundError(revoke_session.NO_SUCH_SESSION) from None


async def _chunks(file: UploadFile, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    while chunk := await file.read(size):
        yield chunk


def _signed_in(info: Info, output: login.LoginOutput | refresh_session.RefreshSessionOutput) -> LoginPayload:
    """A token for the user: set as the cookie, and in the payload for Bearer clients."""
    info.context.sign_in(output.access_token, output.expires_at)
    return LoginPayload(
        user=user_as_seen_by(output.user, output.user), access_token=output.access_token, expires_at=output.expires_at
    )
