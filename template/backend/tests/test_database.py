from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import BACKEND_DIR, Settings
from app.db import create_engine, migrate
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


# The two tables as revision 0001 left them.
OLD_CONVERSATIONS = sa.table(
    "conversations", sa.column("id", sa.Uuid()), sa.column("created_at", sa.DateTime(True))
)
OLD_MESSAGES = sa.table(
    "messages",
    *(sa.column(name, sa.Uuid()) for name in ("id", "conversation_id")),
    *(sa.column(name, sa.String()) for name in ("role", "content")),
    sa.column("created_at", sa.DateTime(True)),
)


async def test_the_history_migration_keeps_and_dates_existing_conversations(
    db: AsyncSession, settings: Settings
) -> None:
    """Revision 0002 on a database that already holds conversations: none is lost (on
    SQLite its table is rebuilt, which must not cascade to the messages), and each gets its
    first question as title and its last message's time."""
    config = Config(BACKEND_DIR / "alembic.ini")
    config.attributes["configure_logger"] = False
    conversation_id, started = uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC)
    messages = [(1, "user", "First question"), (2, "assistant", "Reply"), (3, "user", "Second")]
    await asyncio.to_thread(command.downgrade, config, "0001")
    engine = create_engine(settings.sqlalchemy_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                OLD_CONVERSATIONS.insert().values(id=conversation_id, created_at=started)
            )
            for minutes, role, content in messages:
                await connection.execute(
                    OLD_MESSAGES.insert().values(
                        id=uuid.uuid4(),
                        conversation_id=conversation_id,
                        role=role,
                        content=content,
                        created_at=started + timedelta(minutes=minutes),
                    )
                )
    finally:
        await engine.dispose()
        await asyncio.to_thread(command.upgrade, config, "head")

    conversation = await db.get(Conversation, conversation_id)
    assert conversation is not None
    assert conversation.title == "First question"
    assert conversation.updated_at.replace(tzinfo=UTC) == started + timedelta(minutes=3)
    count = await db.scalar(
        select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
    )
    assert count == len(messages)


async def test_the_status_migration_marks_every_stored_message_complete(
    db: AsyncSession, settings: Settings
) -> None:
    """Revision 0003 on a database that already holds messages: each was stored once it
    was complete, and says so."""
    config = Config(BACKEND_DIR / "alembic.ini")
    config.attributes["configure_logger"] = False
    conversation = Conversation(id=uuid.uuid4())
    db.add(conversation)
    await db.commit()
    await asyncio.to_thread(command.downgrade, config, "0002")
    engine = create_engine(settings.sqlalchemy_database_url)
    try:
        async with engine.begin() as connection:
            for role in ("user", "assistant"):
                await connection.execute(
                    OLD_MESSAGES.insert().values(
                        id=uuid.uuid4(),
                        conversation_id=conversation.id,
                        role=role,
                        content=f"A {role} message",
                        created_at=datetime.now(UTC),
                    )
                )
    finally:
        await engine.dispose()
        await asyncio.to_thread(command.upgrade, config, "head")

    statuses = await db.scalars(
        select(Message.status).where(Message.conversation_id == conversation.id)
    )
    assert list(statuses) == ["complete", "complete"]
