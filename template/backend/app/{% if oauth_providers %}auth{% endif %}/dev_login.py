"""What the sign-in screen offers, and the development sign-in: a local developer gets a
session token without registering an OAuth app. main.py adds the dev-login route only
when ENVIRONMENT=development; in test and production it does not exist (404)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.auth.schemas import AccessToken
from app.auth.security import create_access_token
from app.core import features
from app.deps import SessionDep, SettingsDep
from app.models import User

# The provider name of development users: no real provider uses it.
DEV_PROVIDER = "dev"

router = APIRouter(prefix="/api/auth", tags=["auth"])
providers_router = APIRouter(prefix="/api/auth", tags=["auth"])


class SignInOptions(BaseModel):
    providers: list[str]
    dev_login: bool


class DevLogin(BaseModel):
    email: str = Field("developer@localhost", max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field("Developer", min_length=1, max_length=255)


@providers_router.get("/providers")
async def sign_in_options(settings: SettingsDep) -> SignInOptions:
    return SignInOptions(
        providers=list(features.OAUTH_PROVIDERS),
        dev_login=settings.environment == "development",
    )


@router.post("/dev-login")
async def dev_login(
    session: SessionDep,
    settings: SettingsDep,
    body: DevLogin | None = None,
) -> AccessToken:
    """Sign in as a local developer (one user row per email, provider "dev"), with the
    same kind of token the OAuth callback issues."""
    login = body or DevLogin()
    email = login.email.lower()
    user = await session.scalar(
        select(User).where(User.provider == DEV_PROVIDER, User.subject == email)
    )
    if user is None:
        user = User(provider=DEV_PROVIDER, subject=email, email=email, name=login.name)
        session.add(user)
    user.name = login.name
    await session.commit()
    return AccessToken(
        access_token=create_access_token(user.id, settings.secret_key, user.token_version)
    )
