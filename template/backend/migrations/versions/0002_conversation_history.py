"""Conversation history: a title and the time of the latest message, for the list.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TITLE_CHARS = 80


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("title", sa.String(length=TITLE_CHARS), server_default="", nullable=False),
    )
    op.add_column("conversations", sa.Column("updated_at", sa.DateTime(timezone=True)))
    # Conversations stored before this revision: titled by their first question, dated by
    # their last message.
    op.execute(
        f"""
        UPDATE conversations SET
            title = coalesce((
                SELECT substr(messages.content, 1, {TITLE_CHARS}) FROM messages
                WHERE messages.conversation_id = conversations.id AND messages.role = 'user'
                ORDER BY messages.created_at LIMIT 1
            ), ''),
            updated_at = coalesce((
                SELECT max(messages.created_at) FROM messages
                WHERE messages.conversation_id = conversations.id
            ), conversations.created_at)
        """
    )
    # SQLite cannot alter a column in place: batch mode copies the table.
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.drop_index("ix_conversations_user_id")
        batch.create_index(
            "ix_conversations_user_id_updated_at", ["user_id", "updated_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_user_id_updated_at")
        batch.create_index("ix_conversations_user_id", ["user_id"], unique=False)
        batch.drop_column("updated_at")
        batch.drop_column("title")
