"""Request bodies bounded before they are read (MAX_REQUEST_BYTES, app/core/config.py).

FastAPI has `FastAPI(max_body_size=...)` (Starlette's RequestBodyLimitMiddleware), but it
answers a declared Content-Length in plain text and a chunked body in JSON, and only once
the app reads the body or starts its response. This answers both alike, in JSON, and a
declared length at once, before any of the body is read."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI passes it on while it reads a body (anything else
    it would turn into a 400), and its handler answers the 413 when no response began."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_detail(max_bytes))


def too_large_detail(max_bytes: int) -> str:
    return f"Request body too large: at most {max_bytes} bytes."


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class RequestSizeLimit:
    """413 for a body over max_bytes: at once when Content-Length says so, and for a
    chunked body as soon as the bytes received pass it. Uvicorn then discards the rest of
    the body as it arrives (memory stays flat) and keeps the connection for the next
    request; closing instead would reset it and could lose the 413 on its way."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await self.refuse(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Raised where no exception handler answered it (outside FastAPI's routes).
            if response_started:
                raise
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": too_large_detail(self.max_bytes)}, status_code=413)
        await response(scope, receive, send)
