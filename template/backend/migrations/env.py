"""Alembic environment: async engine, URL from the app's settings, and a Postgres
advisory lock so that only one process migrates at a time."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from app.core.config import get_settings
from app.db import create_engine
from app.models import Base

# Any fixed 64-bit number, the same in every process that migrates this database.
MIGRATION_LOCK_ID = 7_316_402_913_004_771

config = context.config
# From the command line, log like the CLI; inside the app, leave its logging alone.
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds a table by dropping it, and with foreign keys on, dropping
        # `conversations` would cascade to every message. Off for the migration (it only
        # takes effect outside a transaction, hence the commit); the app turns it on.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite alters tables by copying them.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Held until this transaction commits; a second migrator waits here, then
            # finds the schema already current and does nothing.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


async def run_async_migrations() -> None:
    url = config.attributes.get("database_url") or get_settings().sqlalchemy_database_url
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
asyncio.run(run_async_migrations())
