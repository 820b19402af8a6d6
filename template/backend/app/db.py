"""The database engine, sessions, and the one way the schema changes: Alembic."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import BACKEND_DIR

# As long as the pool waits for a free connection.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(database_url: str) -> AsyncEngine:
    # A URL holds only text; asyncpg wants its connect timeout (libpq's connect_timeout,
    # renamed in config.async_database_url) as a number.
    timeout = make_url(database_url).query.get("timeout")
    connect_args = {"timeout": float(timeout)} if isinstance(timeout, str) else {}
    # pre_ping: a platform's Postgres may drop idle connections between requests.
    engine = create_async_engine(database_url, pool_pre_ping=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _share_sqlite_file)
    return engine


def _share_sqlite_file(connection: DBAPIConnection, _record: object) -> None:
    # Every worker writes to the one SQLite file. In WAL mode readers never wait for the
    # writer, and a writer waits its turn instead of failing with "database is locked".
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; fewer fsyncs
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # SQLite ignores foreign keys unless asked: without this, deleting a user or a
    # conversation would leave its rows behind (ON DELETE CASCADE), as Postgres never does.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
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
