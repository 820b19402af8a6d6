"""DELETE /api/me: the account goes, with everything stored for it, and its tokens stop
working; nobody else's data is touched."""

from __future__ import annotations

import uuid

import httpx2
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models import Conversation, Message, User
from tests.auth.users import bearer, new_user


async def with_history(db: AsyncSession, user: User) -> None:
    """Two conversations of a question and a reply each."""
    for _ in range(2):
        conversation = Conversation(id=uuid.uuid4(), user_id=user.id)
        db.add(conversation)
        db.add(Message(conversation_id=conversation.id, role="user", content="Hi"))
        db.add(Message(conversation_id=conversation.id, role="assistant", content="Hello"))
    await db.commit()


async def stored_for(db: AsyncSession, user_id: uuid.UUID) -> tuple[int, int, int]:
    """How many users, conversations and messages the database holds for user_id."""
    users = await db.scalar(select(func.count()).select_from(User).where(User.id == user_id))
    conversations = await db.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.user_id == user_id)
    )
    messages = await db.scalar(
        select(func.count())
        .select_from(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.user_id == user_id)
    )
    return users or 0, conversations or 0, messages or 0


async def orphaned_messages(db: AsyncSession) -> int:
    """Messages whose conversation is gone: what a delete that skipped the cascade leaves."""
    orphans = await db.scalar(
        select(func.count())
        .select_from(Message)
        .where(~select(Conversation.id).where(Conversation.id == Message.conversation_id).exists())
    )
    return orphans or 0


async def test_deleting_the_account_removes_everything_stored_for_it(
    client: httpx2.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    alice, bob = await new_user(db), await new_user(db)
    await with_history(db, alice)
    await with_history(db, bob)
    assert await stored_for(db, alice.id) == (1, 2, 4)

    response = await client.delete("/api/me", headers=bearer(alice, settings))

    assert response.status_code == 204
    assert response.content == b""
    assert await stored_for(db, alice.id) == (0, 0, 0)
    assert await orphaned_messages(db) == 0
    assert await stored_for(db, bob.id) == (1, 2, 4)


async def test_a_deleted_accounts_token_stops_working(
    client: httpx2.AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    user = await new_user(db)
    headers = bearer(user, settings)
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    assert (await client.delete("/api/me", headers=headers)).status_code == 204

    assert (await client.get("/api/me", headers=headers)).status_code == 401
    assert (await client.delete("/api/me", headers=headers)).status_code == 401
    # Signing in again with the same provider account makes a new user; the old token
    # still names the deleted one.
    db.add(User(provider=user.provider, subject=user.subject, email="a@example.com", name="A"))
    await db.commit()
    assert (await client.get("/api/me", headers=headers)).status_code == 401


async def test_deleting_the_account_needs_its_token(client: httpx2.AsyncClient) -> None:
    response = await client.delete("/api/me")
    assert response.status_code == 401
