"""Signed-in users for tests that need one, without going through a provider."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.security import create_access_token
from app.core.config import Settings
from app.models import User


async def new_user(db: AsyncSession) -> User:
    user = User(provider="google", subject=f"user-{uuid.uuid4()}", email="a@example.com", name="A")
    db.add(user)
    await db.commit()
    return user


def bearer(user: User, settings: Settings) -> dict[str, str]:
    """The Authorization header the app sends for `user`."""
    token = create_access_token(user.id, settings.secret_key, user.token_version)
    return {"Authorization": f"Bearer {token}"}
