"""DELETE /api/me: the signed-in user's account and everything stored for it."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.auth.dependencies import CurrentUser
from app.deps import SessionDep

router = APIRouter(prefix="/api", tags=["auth"])


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
async def delete_account(user: CurrentUser, session: SessionDep) -> None:
    # Every table that refers to a user does so ON DELETE CASCADE (conversations, and
    # through them their messages), so the database removes the rest in the same commit.
    # Tokens already issued name a user that no longer exists: they get 401 from now on.
    await session.delete(user)
    await session.commit()
