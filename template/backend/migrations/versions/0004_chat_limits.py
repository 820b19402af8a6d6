"""Chat limits: open streams, requests a minute and tokens a day per key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_limits",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("streams", sa.Integer(), nullable=False),
        sa.Column("leases_expire_at", sa.Double(), nullable=False),
        sa.Column("window_started_at", sa.Double(), nullable=False),
        sa.Column("window_requests", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("day_tokens", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_chat_limits")),
    )


def downgrade() -> None:
    op.drop_table("chat_limits")
