"""The worker's HTTP protocol (app/server.py), served by uvicorn on a real port: request
heads bounded in size and header count, no server banner, no query strings logged."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from app.server import MAX_HEAD_BYTES, MAX_HEADERS, QueryStringFilter, Worker
from tests.conftest import serve


@pytest.fixture
def address(app: FastAPI) -> Iterator[tuple[str, int]]:
    options = {key: Worker.CONFIG_KWARGS[key] for key in ("http", "server_header")}
    with serve(app, **options) as url:
        parts = urlsplit(url)
        yield parts.hostname or "", parts.port or 0


def exchange(address: tuple[str, int], head: bytes) -> bytes:
    """Send a request head; whatever came back before the server closed (or b"")."""
    with socket.create_connection(address, timeout=10) as sock:
        try:
            sock.sendall(head)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            return answer
        except ConnectionResetError:
            return b""


def request(extra: bytes = b"") -> bytes:
    return b"GET /health HTTP/1.1\r\nHost: test\r\n" + extra + b"Connection: close\r\n\r\n"


def test_a_plain_request_is_served_without_a_server_banner(address: tuple[str, int]) -> None:
    answer = exchange(address, request(b"a: b\r\n" * (MAX_HEADERS - 5)))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nserver:" not in answer.lower()


@pytest.mark.parametrize(
    "extra",
    [
        b"a: b\r\n" * (MAX_HEADERS + 1),
        b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n",
        b"X-Big: " + b"a" * (16 * 1024 * 1024) + b"\r\n",
    ],
    ids=["too-many-headers", "a-header-over-the-limit", "a-16-MiB-header"],
)
def test_an_oversized_head_gets_431_and_the_connection_closes(
    address: tuple[str, int], extra: bytes
) -> None:
    answer = exchange(address, request(extra))
    # A refused 16 MiB head may be reset before its 431 is read: refused all the same.
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert exchange(address, request()).startswith(b"HTTP/1.1 200 ")


def test_the_access_log_leaves_query_strings_out() -> None:
    args = ("127.0.0.1:5000", "GET", "/api/auth/google/callback?code=secret", "1.1", 302)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', args, None
    )
    assert QueryStringFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/auth/google/callback HTTP/1.1" 302'
