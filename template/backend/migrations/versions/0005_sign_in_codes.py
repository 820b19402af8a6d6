"""Sign-in codes and token versions: the app swaps a one-time code for its token, and
signing out revokes every token issued before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tokens issued before this revision carry no version: they get 401, and their users
    # sign in again once.
    op.add_column(
        "users", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_table(
        "sign_in_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_challenge", sa.String(length=43), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_in_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_sign_in_codes")),
    )
    op.create_index(op.f("ix_sign_in_codes_user_id"), "sign_in_codes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_codes_user_id"), table_name="sign_in_codes")
    op.drop_table("sign_in_codes")
    # SQLite cannot drop a column in place: batch mode copies the table.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_version")
