"""A status on each message, so a reply is stored as it starts and marked when it ends
(complete, failed or cancelled).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_CHARS = 16


def upgrade() -> None:
    # Every message stored before this revision was stored once complete.
    op.add_column(
        "messages",
        sa.Column(
            "status", sa.String(length=STATUS_CHARS), server_default="complete", nullable=False
        ),
    )


def downgrade() -> None:
    # SQLite cannot drop a column in place: batch mode copies the table.
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("status")
