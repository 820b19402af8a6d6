"""The database engine, sessions, and the one way the schema changes: Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from app.core.config import BACKEND_DIR


def create_engine(database_url: str) -> AsyncEngine:
    # pre_ping: a platform's Postgres may drop idle connections between requests.
    return create_async_engine(database_url, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def migrate(database_url: str | None = None) -> None:
    """Bring the schema to the latest migration (what `alembic upgrade head` does).

    Synchronous: it runs its own event loop, so call it where none is running (the
    Gunicorn master, a thread). On Postgres, migrations/env.py holds an advisory lock,
    so concurrent callers (instances, the pre-deploy command) run one after another."""
    config = Config(BACKEND_DIR / "alembic.ini")
    config.attributes["configure_logger"] = False
    if database_url:
        config.attributes["database_url"] = database_url
    command.upgrade(config, "head")
