"""Bodies over MAX_REQUEST_BYTES get 413 before they are read, with or without a
Content-Length, signed in or not, whatever route they are for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.core.config import Settings
from main import create_app

LIMIT = 1024
CHUNK = b"x" * 256


class Note(BaseModel):
    text: str


@pytest.fixture
async def small_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"max_request_bytes": LIMIT}))

    @app.post("/test/notes")
    async def notes(note: Note) -> dict[str, int]:
        return {"length": len(note.text)}

    yield app
    await app.state.engine.dispose()


class Body:
    """A request body sent chunk by chunk, counting how many chunks were pulled."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(self.chunks):
            self.pulled += 1
            yield CHUNK
        yield b'"}'


def client(app: FastAPI) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize("path", ["/test/notes", "/health", "/nowhere"])
async def test_a_declared_length_over_the_limit_is_refused_before_any_of_it_is_read(
    small_app: FastAPI, path: str
) -> None:
    body = Body(chunks=400_000)  # 100 MiB, if it were read
    headers = {"Content-Length": str(100 * 1024 * 1024), "Content-Type": "application/json"}
    async with client(small_app) as http:
        response = await http.post(path, content=body, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body too large: at most {LIMIT} bytes."}
    assert body.pulled == 0


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_app: FastAPI) -> None:
    body = Body(chunks=400_000)
    async with client(small_app) as http:
        response = await http.post(
            "/test/notes", content=body, headers={"Content-Type": "application/json"}
        )
    assert "content-length" not in response.request.headers  # sent chunked
    assert response.status_code == 413
    assert response.json() == {"detail": f"Request body too large: at most {LIMIT} bytes."}
    assert body.pulled <= LIMIT // len(CHUNK) + 1


async def test_a_body_within_the_limit_is_served(small_app: FastAPI) -> None:
    async with client(small_app) as http:
        chunked = await http.post(
            "/test/notes", content=Body(chunks=3), headers={"Content-Type": "application/json"}
        )
        declared = await http.post("/test/notes", json={"text": "x" * (LIMIT - 20)})
    assert chunked.status_code == 200 and chunked.json() == {"length": 3 * len(CHUNK)}
    assert declared.status_code == 200


def test_the_default_limit_is_64_kib(settings: Settings) -> None:
    assert Settings.model_fields["max_request_bytes"].default == 65_536
