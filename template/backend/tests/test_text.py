"""Free text with a NUL or an unpaired surrogate is a 422, and none of it is logged."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.core.config import Settings
from app.text import Text
from main import create_app

PRIVATE_TEXT = "my-private-words"


class Note(BaseModel):
    text: Text


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    app: FastAPI = create_app(settings)

    @app.post("/test/notes")
    async def notes(note: Note) -> dict[str, str]:
        return {"text": note.text}

    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.mark.parametrize(
    "raw", [f"{PRIVATE_TEXT} \\u0000", f"{PRIVATE_TEXT} \\ud800", f"\\udfff{PRIVATE_TEXT}"], ids=str
)
async def test_nul_and_unpaired_surrogates_are_422_and_not_logged(
    client: httpx2.AsyncClient, caplog: pytest.LogCaptureFixture, raw: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post(
        "/test/notes",
        content=('{"text": "' + raw + '"}').encode(),  # raw: JSON's own escapes
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "text_unstorable"
    assert PRIVATE_TEXT not in response.text
    assert PRIVATE_TEXT not in caplog.text


async def test_a_surrogate_pair_is_text_like_any_other(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/test/notes",
        content=b'{"text": "\\ud83d\\ude00 \\u00e9"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"text": "\N{GRINNING FACE} \N{LATIN SMALL LETTER E WITH ACUTE}"}


async def test_json_escapes_decode_before_the_check(client: httpx2.AsyncClient) -> None:
    """The NUL may come as JSON's escape or as the raw byte; both are refused."""
    body = json.dumps({"text": f"{PRIVATE_TEXT}\x00"}).encode()
    response = await client.post(
        "/test/notes", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
