"""A local OpenID Connect provider (discovery, authorize, token, JWKS) that signs real
RS256 ID tokens, so the tests run Authlib's whole authorization-code flow offline."""

from __future__ import annotations

import base64
import secrets
import time
from functools import cache
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

KEY_ID = "fake-key-1"
TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


@cache
def signing_key() -> rsa.RSAPrivateKey:
    # One key per test run: generating an RSA key takes a noticeable moment.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeOIDC:
    def __init__(self, client_id: str, client_secret: str, multi_tenant: bool = False) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # Like Microsoft's "common" endpoint: the issuer names a {tenantid} placeholder.
        self.multi_tenant = multi_tenant
        self.account = {"sub": "user-123", "email": "ada@example.com", "name": "Ada Lovelace"}
        self._key = signing_key()
        self._codes: dict[str, dict[str, str | None]] = {}
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks),
            ]
        )

    def _issuer(self, base: str, tenant: str = "{tenantid}") -> str:
        return f"{base}/{tenant}/v2.0" if self.multi_tenant else base

    async def _discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": self._issuer(base),
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _authorize(self, request: Request) -> Response:
        """The consent screen, already agreed to: straight back to the app with a code."""
        params = request.query_params
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self._codes[code] = {"nonce": params.get("nonce"), "redirect_uri": params["redirect_uri"]}
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

    async def _token(self, request: Request) -> Response:
        expected = f"{self.client_id}:{self.client_secret}".encode()
        authorization = request.headers.get("authorization", "")
        if authorization != f"Basic {base64.b64encode(expected).decode()}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode()))
        grant = self._codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            **self.account,
            "iss": self._issuer(str(request.base_url).rstrip("/"), TENANT_ID),
            "aud": self.client_id,
            "iat": now,
            "exp": now + 600,
            "nonce": grant["nonce"],
        }
        if self.multi_tenant:
            claims["tid"] = TENANT_ID
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KEY_ID})
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": id_token,
            }
        )

    async def _jwks(self, request: Request) -> Response:
        jwk = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return JSONResponse({"keys": [{**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]})
