"""The OpenID Connect providers, and the session cookie that carries a sign-in's state
from login to callback."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from authlib.integrations.starlette_client import OAuth
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Message, Receive, Scope, Send

from app.core import features
from app.core.config import Settings

OIDC_METADATA = {
    "google": "https://accounts.google.com/.well-known/openid-configuration",
    # "common": work, school and personal Microsoft accounts alike.
    "microsoft": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
}
# Microsoft's tenant of personal accounts (outlook.com, hotmail.com, ...): the `tid` of
# every one of them.
PERSONAL_ACCOUNTS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
# Where login and callback live: the only routes that keep anything between requests.
SIGN_IN_PATH = "/api/auth/"
# On every sign-in response: its codes, tokens and cookies are for this browser only.
NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    for provider in features.OAUTH_PROVIDERS:
        client_id, client_secret = settings.oauth_client(provider)
        oauth.register(
            name=provider,
            client_id=client_id,
            client_secret=client_secret,
            server_metadata_url=OIDC_METADATA[provider],
            # PKCE on the authorization code as well: a code intercepted on its way back
            # from the provider is useless without the verifier this backend keeps.
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
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
    other request pays for decoding it (nor refreshes the cookie). Their responses carry
    codes, tokens and that cookie: no cache may keep them (Cache-Control: no-store)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if not path.startswith(SIGN_IN_PATH):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"cache-control", b"pragma")
                ]
                message = {**message, "headers": headers + NO_STORE}
            await send(message)

        await super().__call__(scope, receive, send_no_store)
