"""The one-time codes a finished sign-in returns to the app with, kept in the database so
that any instance can redeem what another issued, and each only once."""

from __future__ import annotations

import hmac
import uuid
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.security import CODE_VERIFIER, code_hash, new_sign_in_code, s256
from app.models import SignInCode, utcnow

# Long enough for the app to wake up and post it; short enough that a code copied out of
# a browser's history has expired.
CODE_LIFETIME = timedelta(seconds=60)
# Expired codes stay this long (a late exchange is told "expired"), then go.
CODE_RETENTION = timedelta(hours=1)


class CodeRefused(Exception):
    """Why a code buys no token, in words for the client."""


async def issue_code(session: AsyncSession, user_id: uuid.UUID, code_challenge: str) -> str:
    """A new code for `user_id`, redeemable with the verifier of `code_challenge`. The
    caller commits."""
    now = utcnow()
    await session.execute(delete(SignInCode).where(SignInCode.expires_at < now - CODE_RETENTION))
    code = new_sign_in_code()
    session.add(
        SignInCode(
            code_hash=code_hash(code),
            user_id=user_id,
            code_challenge=code_challenge,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code


async def redeem_code(session: AsyncSession, code: str, code_verifier: str) -> uuid.UUID:
    """The user a code was issued to, marking it used; CodeRefused when it is unknown,
    used, expired, or the verifier is not the one the sign-in started with. The caller
    commits."""
    if not CODE_VERIFIER.fullmatch(code_verifier):
        raise CodeRefused("code_verifier must be 43 to 128 letters, digits or -._~ (RFC 7636)")
    hashed, challenge, now = code_hash(code), s256(code_verifier), utcnow()
    # One statement checks and marks: of two exchanges at once, one finds the row unused
    # (Postgres makes the other wait for its row lock, then re-checks; SQLite has one
    # writer at a time).
    user_id = await session.scalar(
        update(SignInCode)
        .where(
            SignInCode.code_hash == hashed,
            SignInCode.code_challenge == challenge,
            SignInCode.used_at.is_(None),
            SignInCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(SignInCode.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is not None:
        return user_id
    row = await session.get(SignInCode, hashed)
    if row is None:
        raise CodeRefused("Unknown sign-in code. Sign in again.")
    if not hmac.compare_digest(row.code_challenge, challenge):
        raise CodeRefused(
            "code_verifier does not match the code_challenge this sign-in began with."
        )
    if row.used_at is not None:
        raise CodeRefused("This sign-in code was already used. Sign in again.")
    raise CodeRefused("This sign-in code has expired. Sign in again.")
