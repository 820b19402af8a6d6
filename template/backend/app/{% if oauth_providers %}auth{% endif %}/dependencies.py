"""The signed-in user, for any route that needs one: `user: CurrentUser`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth.security import InvalidTokenError, token_subject
from app.deps import SessionDep, SettingsDep
from app.models import User

_bearer = HTTPBearer(auto_error=False)


async def current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user a valid, unrevoked Bearer token names; 401 otherwise."""
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "Not signed in",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    try:
        subject = token_subject(credentials.credentials, settings.secret_key)
    except InvalidTokenError:
        raise unauthorized from None
    user = await session.get(User, subject.user_id)
    # A token issued before the user last signed out (POST /api/auth/logout) is revoked.
    if user is None or user.token_version != subject.version:
        raise unauthorized
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(current_user)]
