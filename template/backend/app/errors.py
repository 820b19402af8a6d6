"""Errors answered without repeating what the client sent, and logged without it.

A 422 names where and why a request is invalid, never the value: the value can be a
100 KiB message, or the user's text. A server error is logged by exception type, route
and code location; an exception's message can carry the user's text (SQLAlchemy's holds
the statement's parameters), so it is left out, and so are the values."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

# A field name in `loc` comes from the client too (an unknown key): cut it short.
MAX_LOC_CHARS = 64


def printable(value: str, limit: int | None = None) -> str:
    """value as UTF-8 can carry it (an unpaired surrogate becomes "?"), cut to limit."""
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value if limit is None or len(value) <= limit else value[:limit] + "…"


def public_error(error: dict[str, Any]) -> dict[str, Any]:
    """One validation error without the input: its type, location, message, and from its
    context only the numbers (such as max_length)."""
    public: dict[str, Any] = {
        "type": error["type"],
        "loc": [
            printable(part, MAX_LOC_CHARS) if isinstance(part, str) else part
            for part in error["loc"]
        ],
        "msg": printable(error["msg"]),
    }
    context = {
        key: value
        for key, value in (error.get("ctx") or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    if context:
        public["ctx"] = context
    return public


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [public_error(error) for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def describe(exc: BaseException) -> str:
    """The chain of exception types, root cause last: `DBAPIError <- UnicodeEncodeError`."""
    names: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(names) < 10:
        name = f"{type(current).__module__}.{type(current).__qualname__}"
        if isinstance(current, BaseExceptionGroup):
            name += "(" + ", ".join(describe(inner) for inner in current.exceptions) + ")"
        names.append(name)
        current = current.__cause__ or current.__context__
    return " <- ".join(names)


def where(exc: BaseException) -> str:
    """The stack of the innermost exception: files, lines and code, no values."""
    for _ in range(10):  # a chain can loop back on itself
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return "".join(traceback.format_tb(exc.__traceback__))


class ServerErrors:
    """Outermost but for the security headers: an exception nothing handled is logged
    safely (above) and answered with a bare 500. Caught here, it never reaches Uvicorn,
    whose log would print the exception's message. After a response began there is
    nothing to tell the client: Uvicorn closes a response that did not finish."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            # The route's template (/api/chat/stream), not the path: a path can carry ids.
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            logger.error(
                "Unhandled %s on %s %s\n%s", describe(exc), scope["method"], route, where(exc)
            )
            if not response_started:
                response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
                await response(scope, receive, send)


def add_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
