"""Session tokens: HS256 JWTs signed with SECRET_KEY, sent back as Bearer tokens; and the
one-time codes and PKCE checks of the handoff that delivers them to the app."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import jwt

ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(days=7)

# RFC 7636: an S256 challenge is base64url(SHA-256(verifier)) without padding, 43
# characters; a verifier is 43 to 128 unreserved characters.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


class InvalidTokenError(Exception):
    pass


class TokenSubject(NamedTuple):
    user_id: uuid.UUID
    # The user's token_version when the token was issued: stale once they sign out.
    version: int


def create_access_token(user_id: uuid.UUID, secret_key: str, version: int = 0) -> str:
    """A session token for the user; `version` is their token_version (0 until they
    first sign out)."""
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "ver": version, "iat": now, "exp": now + TOKEN_LIFETIME}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def token_subject(token: str, secret_key: str) -> TokenSubject:
    """Whom a valid, unexpired token names; InvalidTokenError otherwise."""
    try:
        claims = jwt.decode(
            token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "ver"]}
        )
        version = claims["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidTokenError("ver is not a number")
        return TokenSubject(uuid.UUID(claims["sub"]), version)
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidTokenError(str(exc)) from exc


def new_sign_in_code() -> str:
    """A one-time code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def code_hash(code: str) -> str:
    """What the database keeps of a code. The code is random, so a fast hash suffices: a
    copy of the table yields no code to replay."""
    return hashlib.sha256(code.encode()).hexdigest()


def s256(verifier: str) -> str:
    """PKCE S256: the challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
