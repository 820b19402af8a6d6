"""The connection pools of every worker of every instance must fit the database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import make_url, text

from app.core.config import Settings
from app.db import ConnectionBudget, check_connection_budget, create_engine

ON_POSTGRES = make_url(Settings().sqlalchemy_database_url).get_backend_name() == "postgresql"


def budget(**changes: int) -> ConnectionBudget:
    values = dict(
        pool_size=5, max_overflow=5, workers=4, instances=2, max_connections=100, reserved=3
    )
    return ConnectionBudget(**{**values, **changes})


def test_every_worker_of_every_instance_counts_plus_one_migration() -> None:
    assert budget().needed == (5 + 5) * 4 * 2 + 1
    assert budget().available == 97
    assert budget(instances=3).needed == 121


def test_a_deploy_adds_the_old_instances_idle_pools() -> None:
    assert budget().needed_during_deploy == 81 + 5 * 4 * 2


def test_the_arithmetic_names_every_number() -> None:
    text_ = budget(instances=3).arithmetic()
    for part in ("5 DB_POOL_SIZE", "5 DB_MAX_OVERFLOW", "4 workers", "3 INSTANCES", "121", "97"):
        assert part in text_


def test_sqlite_has_nothing_to_check() -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///unused.db", db_pool_size=1000)
    assert check_connection_budget(settings, workers=4) is None


def test_pool_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("INSTANCES", "7")
    settings = Settings()
    assert (settings.db_pool_size, settings.db_max_overflow, settings.instances) == (3, 0, 7)


async def server_max_connections(settings: Settings) -> int:
    engine = create_engine(settings.sqlalchemy_database_url)
    async with engine.connect() as connection:
        limit = int((await connection.execute(text("SHOW max_connections"))).scalar_one())
    await engine.dispose()
    return limit


# Against the real server: collected when DATABASE_URL is Postgres (CI runs the suite on
# both); SQLite has no connection limit to check.
if ON_POSTGRES:

    def test_pools_that_fit_the_server_pass_with_its_real_limit(settings: Settings) -> None:
        checked = check_connection_budget(settings.model_copy(update={"instances": 1}), workers=1)
        assert checked is not None
        assert checked.max_connections > checked.reserved >= 0
        assert checked.needed <= checked.available

    def test_pools_bigger_than_the_server_allows_refuse_to_start(settings: Settings) -> None:
        # Ten instances of pools as large as the whole server: cannot fit on any Postgres.
        limit = asyncio.run(server_max_connections(settings))
        too_big = settings.model_copy(update={"db_pool_size": limit, "instances": 10})
        with pytest.raises(SystemExit) as refusal:
            check_connection_budget(too_big, workers=2)
        message = str(refusal.value.code)
        assert f"max_connections {limit}" in message
        assert f"({limit} DB_POOL_SIZE + {settings.db_max_overflow} DB_MAX_OVERFLOW)" in message
        assert "x 2 workers x 10 INSTANCES" in message
