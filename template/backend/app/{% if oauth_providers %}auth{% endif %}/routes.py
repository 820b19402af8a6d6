"""Sign-in with OpenID Connect (authorization-code flow) and the session token it yields.

The app sends the browser to /api/auth/{provider}/login?redirect_to=<app URL>; after the
provider's consent screen the callback sends it back to <app URL>#token=<JWT> (in the
fragment, so the token never reaches a server log), or #error=sign_in_failed."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.starlette_client import OAuthError, StarletteOAuth2App
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from app.auth.dependencies import CurrentUser
from app.auth.oidc import issuer_check
from app.auth.schemas import UserOut
from app.auth.security import create_access_token
from app.core import features
from app.core.config import Settings
from app.deps import SessionDep, SettingsDep
from app.models import User

router = APIRouter(prefix="/api", tags=["auth"])
logger = logging.getLogger(__name__)

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def oauth_client(request: Request, provider: str) -> StarletteOAuth2App:
    if provider not in features.OAUTH_PROVIDERS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Unknown sign-in provider")
    client: StarletteOAuth2App = request.app.state.oauth.create_client(provider)
    return client


def is_allowed_redirect(url: str, settings: Settings) -> bool:
    """Only back to the app itself: no open redirect that would hand a token to a stranger."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if f"{parts.scheme}://{parts.netloc}" in settings.cors_origin_list:
        return True
    return not settings.is_production and parts.hostname in LOCAL_HOSTS


@router.get("/auth/{provider}/login")
async def login(
    provider: str, redirect_to: str, request: Request, settings: SettingsDep
) -> RedirectResponse:
    client = oauth_client(request, provider)
    if not is_allowed_redirect(redirect_to, settings):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "redirect_to is not an allowed origin")
    request.session["redirect_to"] = redirect_to
    callback_url = f"{settings.backend_url.rstrip('/')}/api/auth/{provider}/callback"
    response: RedirectResponse = await client.authorize_redirect(request, callback_url)
    return response


@router.get("/auth/{provider}/callback")
async def callback(
    provider: str, request: Request, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    client = oauth_client(request, provider)
    redirect_to = request.session.pop("redirect_to", None)
    if redirect_to is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Sign-in was not started here")
    back_to_app = redirect_to.split("#", 1)[0]
    try:
        metadata = await client.load_server_metadata()
        # Checks the state against the session, swaps the code for tokens, and
        # verifies the ID token's signature, audience, nonce and issuer.
        token = await client.authorize_access_token(
            request,
            claims_options={
                "iss": {"essential": True, "validate": issuer_check(metadata["issuer"])}
            },
        )
        claims = token["userinfo"]
    except (OAuthError, httpx2.HTTPError, KeyError) as exc:
        logger.warning("Sign-in with %s failed: %r", provider, exc)
        return RedirectResponse(f"{back_to_app}#error=sign_in_failed", status.HTTP_302_FOUND)

    user = await session.scalar(
        select(User).where(User.provider == provider, User.subject == claims["sub"])
    )
    if user is None:
        user = User(provider=provider, subject=claims["sub"])
        session.add(user)
    # Microsoft personal accounts may carry no `email`; the sign-in name is an address.
    user.email = claims.get("email") or claims.get("preferred_username") or ""
    user.name = claims.get("name") or user.email
    await session.commit()

    token = create_access_token(user.id, settings.secret_key)
    return RedirectResponse(f"{back_to_app}#token={token}", status.HTTP_302_FOUND)


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, provider=user.provider)
