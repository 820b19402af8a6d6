"""A local stand-in for Anthropic's Messages API that streams its real wire format
(message_start, content_block_delta, ..., message_stop), so the tests exercise the
official SDK end to end with no network and no key."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

# In a script, the server stops here until the test calls release() (10 s at most).
WAIT = "wait"
# In a script: the server drops the connection here, mid-response, as a crashed proxy or
# a network fault would (the client sees an incomplete chunked body).
DROP = "drop"
# In a script: an event whose data is not JSON.
MALFORMED = "malformed"
# One server-sent event: its name and its JSON data.
Event = tuple[str, dict[str, Any]]


def reply(*chunks: str, input_tokens: int = 12, output_tokens: int = 5) -> list[Event | str]:
    """The events of a successful text reply, one content_block_delta per chunk (a WAIT
    among the chunks pauses the stream there)."""
    deltas: list[Event | str] = [
        chunk
        if chunk == WAIT
        else ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": chunk}})
        for chunk in chunks
    ]
    return [
        message_start(input_tokens),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ("ping", {}),
        *deltas,
        ("content_block_stop", {"index": 0}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        ("message_stop", {}),
    ]


def message_start(input_tokens: int = 12) -> Event:
    message: dict[str, Any] = {
        "id": "msg_fake_01",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-test",
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    return ("message_start", {"message": message})


def overloaded() -> Event:
    return ("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})


class FakeAnthropic:
    def __init__(self, script: list[Event | str] | None = None, status: int = 200) -> None:
        self.script = script if script is not None else reply("Hello", " world")
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.disconnected = threading.Event()
        # Set once a response has sent its whole script.
        self.finished = threading.Event()
        self._released = threading.Event()
        self.app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    def release(self) -> None:
        self._released.set()

    async def _messages(self, request: Request) -> Response:
        self.requests.append(await request.json())
        if self.status != 200:
            error = {"type": "error", "error": {"type": "api_error", "message": "Server error"}}
            return JSONResponse(error, status_code=self.status)
        return StreamingResponse(self._events(request), media_type="text/event-stream")

    async def _events(self, request: Request) -> AsyncIterator[bytes]:
        for item in self.script:
            if item == DROP:
                # Uvicorn closes the connection when a response fails after it started.
                raise ConnectionAbortedError("the fake drops the connection, as scripted")
            if item == MALFORMED:
                yield b'event: content_block_delta\ndata: {"type": "content_block_delta", \n\n'
            elif isinstance(item, str):  # WAIT
                await self._wait()
            else:
                name, data = item
                yield f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()
        self.finished.set()

    async def _wait(self) -> None:
        try:
            for _ in range(200):  # 10 s at most
                if self._released.is_set():
                    return
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            # Starlette cancels a streaming response when its client disconnects.
            self.disconnected.set()
            raise
