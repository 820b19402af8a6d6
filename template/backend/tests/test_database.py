from __future__ import annotations

import uuid

from alembic import command
from alembic.config import Config
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import BACKEND_DIR
from app.db import migrate
from app.models import Conversation, Message


async def test_a_conversation_and_its_messages_round_trip(db: AsyncSession) -> None:
    conversation = Conversation(id=uuid.uuid4())
    db.add(conversation)
    db.add(Message(conversation_id=conversation.id, role="user", content="Hello ünïcode"))
    db.add(
        Message(
            conversation_id=conversation.id,
            role="assistant",
            content="Hi!",
            input_tokens=3,
            output_tokens=2,
        )
    )
    await db.commit()
    db.expunge_all()

    stored = await db.scalars(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.role)
    )
    assert [(m.role, m.content, m.output_tokens) for m in stored] == [
        ("assistant", "Hi!", 2),
        ("user", "Hello ünïcode", None),
    ]
    found = await db.get(Conversation, conversation.id)
    assert found is not None and found.created_at is not None


def test_migrating_again_is_a_no_op() -> None:
    migrate()


def test_the_migrations_match_the_models() -> None:
    # Fails when a model changed without a migration: `alembic revision --autogenerate`.
    config = Config(BACKEND_DIR / "alembic.ini")
    config.attributes["configure_logger"] = False
    command.check(config)
