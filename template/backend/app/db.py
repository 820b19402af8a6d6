"""The database engine, sessions, and the one way the schema changes: Alembic."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.core.config import BACKEND_DIR, Settings

logger = logging.getLogger(__name__)

# As long as the pool waits for a free connection.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Besides the workers' pools: one migration at a time (a Gunicorn master's or the
# platform's pre-deploy command; the advisory lock in migrations/env.py serialises them).
MIGRATION_CONNECTIONS = 1


def create_engine(database_url: str, pool_size: int = 5, max_overflow: int = 10) -> AsyncEngine:
    """One engine per process. On Postgres its pool keeps up to `pool_size` connections
    open and opens up to `max_overflow` more under load, closing those when they come
    back. The app passes its settings; the defaults are SQLAlchemy's."""
    # SQLite is one file, not a server with a connection limit.
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    pool = {} if sqlite else {"pool_size": pool_size, "max_overflow": max_overflow}
    # pre_ping: a platform's Postgres may drop idle connections between requests.
    engine = create_async_engine(
        database_url, pool_pre_ping=True, connect_args=connect_args(database_url), **pool
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _share_sqlite_file)
    return engine


def connect_args(database_url: str) -> dict[str, float]:
    # A URL holds only text; asyncpg wants its connect timeout (libpq's connect_timeout,
    # renamed in config.async_database_url) as a number.
    timeout = make_url(database_url).query.get("timeout")
    return {"timeout": float(timeout)} if isinstance(timeout, str) else {}


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


@dataclass(frozen=True)
class ConnectionBudget:
    """The most connections the backend may open, against what the database allows."""

    pool_size: int
    max_overflow: int
    workers: int
    instances: int
    max_connections: int
    # superuser_reserved_connections + reserved_connections: slots an operator still
    # gets when the app has taken all the others; the app must not count on them.
    reserved: int

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved

    @property
    def needed(self) -> int:
        per_worker = self.pool_size + self.max_overflow
        return per_worker * self.workers * self.instances + MIGRATION_CONNECTIONS

    @property
    def needed_during_deploy(self) -> int:
        # A deploy starts the new instances before it stops the old ones, and until then
        # each old worker keeps up to pool_size idle connections.
        return self.needed + self.pool_size * self.workers * self.instances

    def arithmetic(self) -> str:
        return (
            f"({self.pool_size} DB_POOL_SIZE + {self.max_overflow} DB_MAX_OVERFLOW)"
            f" x {self.workers} workers x {self.instances} INSTANCES"
            f" + {MIGRATION_CONNECTIONS} migration = {self.needed} connections; the database"
            f" allows {self.available} (max_connections {self.max_connections}"
            f" - {self.reserved} reserved)"
        )


async def _connection_limits(database_url: str) -> tuple[int, int]:
    """max_connections and the slots reserved for superusers (and, from Postgres 16,
    for roles with pg_use_reserved_connections)."""
    engine = create_async_engine(
        database_url, poolclass=NullPool, connect_args=connect_args(database_url)
    )
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT current_setting('max_connections')::int,"
                        " current_setting('superuser_reserved_connections')::int"
                        " + coalesce(current_setting('reserved_connections', true), '0')::int"
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return int(row[0]), int(row[1])


def check_connection_budget(settings: Settings, workers: int) -> ConnectionBudget | None:
    """Refuse to start when every worker of every instance together could open more
    connections than the database allows (the first request over the limit would fail
    with "too many clients"); warn when only a deploy's overlap could. None on SQLite.

    Synchronous, like migrate(): the Gunicorn master calls it before it forks."""
    url = settings.sqlalchemy_database_url
    if make_url(url).get_backend_name() != "postgresql":
        return None
    max_connections, reserved = asyncio.run(_connection_limits(url))
    budget = ConnectionBudget(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        workers=workers,
        instances=settings.instances,
        max_connections=max_connections,
        reserved=reserved,
    )
    if budget.needed > budget.available:
        raise SystemExit(
            "Refusing to start: the connection pools could exceed the database's limit. "
            + budget.arithmetic()
            + ". Lower DB_POOL_SIZE, DB_MAX_OVERFLOW or WEB_CONCURRENCY, or use a database"
            " plan with more connections (README, section Scaling)."
        )
    if budget.needed_during_deploy > budget.available:
        logger.warning(
            "During a deploy, old and new instances together may need %d connections: %s",
            budget.needed_during_deploy,
            budget.arithmetic(),
        )
    else:
        logger.info("Database connections fit: %s", budget.arithmetic())
    return budget
