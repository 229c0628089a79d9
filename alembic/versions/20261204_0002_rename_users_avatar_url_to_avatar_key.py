"""Rename users.avatar_url to avatar_key: the column holds a storage key, not a URL.

The URL is the storage backend's to make from the key, at read time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Not in batch mode, even on SQLite: SQLite renames a column in place (3.25 and later), while
# batch mode would copy `users` and drop the original, and with foreign keys on that drop
# would delete every access token by cascade.


def upgrade() -> None:
    op.alter_column("users", "avatar_url", new_column_name="avatar_key")


def downgrade() -> None:
    op.alter_column("users", "avatar_key", new_column_name="avatar_url")
