"""A 422 names what is wrong, never the value sent; a server error is logged by type and
route, never with the request's text."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from app.core.config import Settings
from main import create_app

PRIVATE_TEXT = "my-private-words"


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=10)
    count: int = 0


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app: FastAPI = create_app(settings)

    @app.post("/test/notes")
    async def notes(note: Note) -> dict[str, str]:
        return {"text": note.text}

    @app.post("/test/failing")
    async def failing(note: Note) -> None:
        raise RuntimeError(f"could not store {note.text!r}")

    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.mark.parametrize(
    "body",
    [
        {"text": PRIVATE_TEXT * 1000},  # too long
        {"text": 1, "count": PRIVATE_TEXT},  # wrong types
        {"text": "ok", "x" * 500 + PRIVATE_TEXT: 1},  # an unknown key: its name is cut short
        [PRIVATE_TEXT],  # not an object
    ],
    ids=["too-long", "wrong-type", "extra-keys", "not-an-object"],
)
async def test_a_422_does_not_echo_the_input(client: httpx2.AsyncClient, body: object) -> None:
    response = await client.post("/test/notes", json=body)
    assert response.status_code == 422
    assert len(response.content) < 1000
    assert PRIVATE_TEXT not in response.text
    for error in response.json()["detail"]:
        assert set(error) <= {"type", "loc", "msg", "ctx"}


async def test_the_422_keeps_what_helps_a_client(client: httpx2.AsyncClient) -> None:
    response = await client.post("/test/notes", json={"text": PRIVATE_TEXT})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["body", "text"],
            "msg": "String should have at most 10 characters",
            "ctx": {"max_length": 10},
        }
    ]


async def test_invalid_json_is_a_422_without_the_document(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/test/notes",
        content=json.dumps({"text": PRIVATE_TEXT}).encode()[:-1],  # no closing brace
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert PRIVATE_TEXT not in response.text


async def test_a_server_error_is_logged_without_the_request_text(
    client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post("/test/failing", json={"text": "my-diary"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "my-diary" not in caplog.text
    assert "builtins.RuntimeError on POST /test/failing" in caplog.text
    assert "raise RuntimeError" in caplog.text  # where it happened, as code
