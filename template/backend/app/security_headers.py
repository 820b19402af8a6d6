"""Headers every response carries, whoever answered it (a route, a middleware's 413 or
400, the 500 of app/errors.py). Pure ASGI: a stream goes out event by event, unbuffered."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Browsers must not guess a type other than the one declared (a JSON body run as script).
# The API's URLs (the sign-in callback carries a one-time code) go to no other site.
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Two years, the preload list's minimum, for every subdomain. Production only: the
# browser remembers it, and a developer's localhost speaks plain HTTP.
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.headers = HEADERS | ({"Strict-Transport-Security": HSTS} if hsts else {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
