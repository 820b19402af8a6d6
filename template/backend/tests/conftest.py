"""Test settings, a migrated database, the app in-process and on a real port.

SQLite in a temporary folder by default; set DATABASE_URL to run the same suite against
Postgres (the CI does)."""

from __future__ import annotations

import os
import secrets
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

# Settings come from the environment: the test values go in before the app is imported.
# Keys from backend/.env must not reach the tests, so each one is set here, even if empty.
os.environ["ENVIRONMENT"] = "test"
os.environ["SECRET_KEY"] = secrets.token_hex(32)
os.environ["ANTHROPIC_API_KEY"] = ""
os.environ["CORS_ORIGINS"] = "https://app.example.com"
os.environ["BACKEND_URL"] = "http://localhost:8000"
# The suite chats many times a minute, from one address: tests/chat/test_limits.py sets
# the limits it tests on its app.
os.environ["CHAT_MAX_CONCURRENT_STREAMS"] = "1000"
os.environ["CHAT_REQUESTS_PER_MINUTE"] = "0"
os.environ["CHAT_DAILY_TOKENS_PER_USER"] = "0"
os.environ["CHAT_DAILY_TOKENS_TOTAL"] = "0"
if not os.environ.get("DATABASE_URL"):
    database_file = Path(tempfile.mkdtemp(prefix="backend-tests-")) / "test.db"
    os.environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{database_file}"

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp

from app.core.config import Settings, get_settings
from app.core.features import REQUIRED_IN_PRODUCTION
from app.db import create_engine, create_sessionmaker, migrate
from main import create_app

# Where the production tests pretend to be served (.test: reserved, no real host).
PRODUCTION_BACKEND_URL = "https://api.product.test"


@pytest.fixture(scope="session", autouse=True)
def migrated_database() -> None:
    """The schema, built by the same migrations production runs."""
    migrate()


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session of the test's own, to look at what the app stored."""
    engine = create_engine(settings.sqlalchemy_database_url)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


@contextmanager
def serve(
    app: ASGIApp, lifespan: Literal["auto", "on", "off"] = "on", **options: Any
) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port, in a thread; yield its URL.
    `options` go to uvicorn.Config (the worker's, say: app/server.py)."""
    # The asyncio loop: uvloop complains when it is stopped outside the main thread.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan=lifespan,
        log_level="warning",
        loop="asyncio",
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The app, served over real HTTP like in production (its own engine and loop)."""
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture
def production_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings that pass production's start-up checks. The database URL is Postgres, as
    production insists; nothing here connects to it."""
    for name in REQUIRED_IN_PRODUCTION:
        monkeypatch.setenv(name, secrets.token_urlsafe(32))
    return Settings(
        environment="production",
        database_url="postgresql://app@127.0.0.1:9/app",
        backend_url=PRODUCTION_BACKEND_URL,
        cors_origins="https://app.product.test",
    )
