"""The OpenID Connect providers, and the session cookie that carries a sign-in's state
from login to callback."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from authlib.integrations.starlette_client import OAuth
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Receive, Scope, Send

from app.core import features
from app.core.config import Settings

OIDC_METADATA = {
    "google": "https://accounts.google.com/.well-known/openid-configuration",
    # "common": work, school and personal Microsoft accounts alike.
    "microsoft": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
}
# Where login and callback live: the only routes that keep anything between requests.
SIGN_IN_PATH = "/api/auth/"


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    for provider in features.OAUTH_PROVIDERS:
        client_id, client_secret = settings.oauth_client(provider)
        oauth.register(
            name=provider,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=OIDC_METADATA[provider],
            client_kwargs={"scope": "openid email profile"},
        )
    return oauth


def issuer_check(issuer: str) -> Callable[[Mapping[str, object], str], bool]:
    # Microsoft's multi-tenant metadata names its issuer with a {tenantid} placeholder
    # that each token fills in with its own tenant (the `tid` claim).
    def matches(claims: Mapping[str, object], value: str) -> bool:
        return value == issuer.replace("{tenantid}", str(claims.get("tid", "")))

    return matches


class SignInSessionMiddleware(SessionMiddleware):
    """Starlette's signed session cookie, on the sign-in routes only: Authlib keeps the
    OAuth state there between login and callback, and no other request reads it, so no
    other request pays for decoding it (nor refreshes the cookie)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if path.startswith(SIGN_IN_PATH):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)
