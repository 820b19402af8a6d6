"""A local OpenID Connect provider (discovery, authorize, token, UserInfo, JWKS) that signs
real RS256 ID tokens, so the tests run Authlib's whole authorization-code flow offline.
Its attributes make it misbehave the ways real providers and networks do."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

KEY_ID = "fake-key-1"
# Microsoft's tenant of personal accounts; a work or school tenant of Entra ID.
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
WORK_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@cache
def signing_key() -> rsa.RSAPrivateKey:
    # One key per test run: generating an RSA key takes a noticeable moment.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def another_key() -> rsa.RSAPrivateKey:
    """A key the provider does not publish: a signature by it is a forgery."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class FakeOIDC:
    def __init__(self, client_id: str, client_secret: str, multi_tenant: bool = False) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # Like Microsoft's "common" endpoint: the issuer names a {tenantid} placeholder.
        self.multi_tenant = multi_tenant
        self.tenant = TENANT_ID
        self.account: dict[str, Any] = {
            "sub": "user-123",
            "email": "ada@example.com",
            "email_verified": True,
            "name": "Ada Lovelace",
        }
        if multi_tenant:
            # Microsoft says nothing of the kind (app/auth/accounts.py).
            del self.account["email_verified"]
        # The account's claims the ID token leaves out (UserInfo serves them all), and
        # what UserInfo says otherwise.
        self.userinfo_only: set[str] = set()
        self.userinfo_overrides: dict[str, Any] = {}
        # The provider's clock, this far from the tests' (seconds): its iat, nbf and exp.
        self.clock_offset = 0
        # Claims the ID token gets on top (or instead) of the right ones: "aud", "exp"...
        self.id_token_overrides: dict[str, Any] = {}
        self.sign_with = signing_key()
        # A token endpoint that fails: (status, body); or another address for it.
        self.token_error: tuple[int, str] | None = None
        self.token_endpoint: str | None = None
        self.discovery_error = False
        # Every authorization request, as the provider received it.
        self.authorize_requests: list[dict[str, str]] = []
        self._key = signing_key()
        self._codes: dict[str, dict[str, str | None]] = {}
        self._access_tokens: set[str] = set()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/userinfo", self._userinfo),
                Route("/jwks", self._jwks),
            ]
        )

    def _issuer(self, base: str, tenant: str = "{tenantid}") -> str:
        return f"{base}/{tenant}/v2.0" if self.multi_tenant else base

    async def _discovery(self, request: Request) -> Response:
        if self.discovery_error:
            return PlainTextResponse("Service Unavailable", status_code=503)
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": self._issuer(base),
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": self.token_endpoint or f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _authorize(self, request: Request) -> Response:
        """The consent screen, already agreed to: straight back to the app with a code."""
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        # PKCE (RFC 7636), as Google and Microsoft support it: S256 or nothing.
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "nonce": params.get("nonce"),
            "redirect_uri": params["redirect_uri"],
            "code_challenge": params["code_challenge"],
        }
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def _token(self, request: Request) -> Response:
        if self.token_error is not None:
            status, body = self.token_error
            media = "application/json" if body.startswith("{") else "text/plain"
            return Response(body, status_code=status, media_type=media)
        expected = f"{self.client_id}:{self.client_secret}".encode()
        authorization = request.headers.get("authorization", "")
        if authorization != f"Basic {base64.b64encode(expected).decode()}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode()))
        grant = self._codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if s256(form.get("code_verifier", "")) != grant["code_challenge"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time()) + self.clock_offset
        claims = {
            **{k: v for k, v in self.account.items() if k not in self.userinfo_only},
            "iss": self._issuer(str(request.base_url).rstrip("/"), self.tenant),
            "aud": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "nonce": grant["nonce"],
        }
        if self.multi_tenant:
            claims["tid"] = self.tenant
        claims.update(self.id_token_overrides)
        id_token = jwt.encode(claims, self.sign_with, algorithm="RS256", headers={"kid": KEY_ID})
        access_token = secrets.token_urlsafe(16)
        self._access_tokens.add(access_token)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )

    async def _userinfo(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self._access_tokens:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({**self.account, **self.userinfo_overrides})

    async def _jwks(self, request: Request) -> Response:
        jwk = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]})
