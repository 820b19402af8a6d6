from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import (
    Settings,
    async_database_url,
    development_secret_key,
    validate_required,
)
from app.core.features import REQUIRED_IN_PRODUCTION

STRONG_SECRET = "s" * 64


def production(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    """Production settings from exactly `values`: no .env, no inherited variables."""
    for name in REQUIRED_IN_PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def refusal(settings: Settings) -> str:
    with pytest.raises(SystemExit) as exit_info:
        validate_required(settings)
    return str(exit_info.value.code)


def test_production_with_nothing_set_names_every_required_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = refusal(production(monkeypatch))
    for name in REQUIRED_IN_PRODUCTION:
        assert name in message


@pytest.mark.parametrize("name", REQUIRED_IN_PRODUCTION)
def test_production_names_the_one_variable_still_missing(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    values = {other: STRONG_SECRET for other in REQUIRED_IN_PRODUCTION if other != name}
    message = refusal(production(monkeypatch, **values))
    assert name in message
    assert not [other for other in values if other in message.replace(name, "")]


@pytest.mark.parametrize("placeholder", ["changeme", "changethis", "CHANGEME", "  "])
def test_placeholders_count_as_missing(monkeypatch: pytest.MonkeyPatch, placeholder: str) -> None:
    values = dict.fromkeys(REQUIRED_IN_PRODUCTION, STRONG_SECRET)
    values["SECRET_KEY"] = placeholder
    assert "SECRET_KEY" in refusal(production(monkeypatch, **values))


@pytest.mark.parametrize("weak", ["x" * 31, development_secret_key()])
def test_a_short_or_development_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    values = dict.fromkeys(REQUIRED_IN_PRODUCTION, STRONG_SECRET)
    values["SECRET_KEY"] = weak
    assert "SECRET_KEY" in refusal(production(monkeypatch, **values))


def test_production_with_everything_set_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    values = dict.fromkeys(REQUIRED_IN_PRODUCTION, STRONG_SECRET)
    validate_required(production(monkeypatch, **values))


def test_required_values_are_also_read_from_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={STRONG_SECRET}\n" for name in REQUIRED_IN_PRODUCTION))
    for name in REQUIRED_IN_PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    validate_required(Settings(_env_file=env_file))


def test_development_works_with_nothing_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*REQUIRED_IN_PRODUCTION, "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    validate_required(settings)
    assert settings.environment == "development"
    assert settings.secret_key == development_secret_key()
    assert len(settings.secret_key.encode()) >= 32
    assert settings.sqlalchemy_database_url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgresql://u:p@db/app", "postgresql+asyncpg://u:p@db/app"),
        ("postgresql://u:p@db/app?sslmode=require", "postgresql+asyncpg://u:p@db/app?ssl=require"),
        ("sqlite+aiosqlite:///app.db", "sqlite+aiosqlite:///app.db"),
    ],
)
def test_platform_database_urls_get_the_async_driver(given: str, expected: str) -> None:
    assert async_database_url(given) == expected


def test_cors_origins_are_a_comma_separated_list() -> None:
    settings = Settings(_env_file=None, cors_origins="https://a.example, https://b.example,")
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]


def test_other_variables_come_from_the_environment_then_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EXAMPLE_API_KEY=from-file\nEXAMPLE_MODEL=from-file\n")
    monkeypatch.setenv("EXAMPLE_API_KEY", "from-environment")
    monkeypatch.delenv("EXAMPLE_MODEL", raising=False)
    settings = Settings(_env_file=env_file)
    assert settings.value_of("EXAMPLE_API_KEY") == "from-environment"
    assert settings.value_of("EXAMPLE_MODEL") == "from-file"
    assert settings.value_of("EXAMPLE_UNSET") == ""
