from __future__ import annotations

import asyncio
import secrets
import socket
from pathlib import Path

import pytest

from app.core.config import (
    PLATFORM_VARIABLES,
    Settings,
    async_database_url,
    development_secret_key,
    load_settings,
    placeholder_reason,
    validate_required,
)
from app.core.features import REQUIRED_IN_PRODUCTION
from app.db import create_engine

# What a deployed service is given: random secrets, real-looking URLs (.test is reserved
# for tests, so no real host is named).
USABLE = {
    **{name: secrets.token_urlsafe(32) for name in REQUIRED_IN_PRODUCTION},
    "SECRET_KEY": secrets.token_hex(32),
    "DATABASE_URL": f"postgresql://app:{secrets.token_urlsafe(16)}@db.internal:5432/app",
    "BACKEND_URL": "https://api.product.test",
    "CORS_ORIGINS": "https://app.product.test",
}


def production(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    """Production settings from exactly `values`: no .env, no inherited variables."""
    for name in (*REQUIRED_IN_PRODUCTION, "BACKEND_URL", "CORS_ORIGINS", *PLATFORM_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def usable(**changes: str) -> dict[str, str]:
    return {**USABLE, **changes}


def refusal(settings: Settings, under_gunicorn: bool = False) -> str:
    with pytest.raises(SystemExit) as exit_info:
        validate_required(settings, under_gunicorn=under_gunicorn)
    return str(exit_info.value.code)


def named(message: str) -> set[str]:
    """The variables a refusal names, one per problem (wrapped lines indent further)."""
    problems = [line for line in message.splitlines() if line[:2] == "  " and line[2] != " "]
    return {problem.split(":")[0].strip() for problem in problems}


def test_production_with_nothing_set_names_every_required_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = refusal(production(monkeypatch))
    assert named(message) == set(REQUIRED_IN_PRODUCTION)


@pytest.mark.parametrize("name", REQUIRED_IN_PRODUCTION)
def test_production_names_the_one_variable_still_missing(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    values = usable()
    del values[name]
    assert named(refusal(production(monkeypatch, **values))) == {name}


def test_production_with_everything_set_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    validate_required(production(monkeypatch, **usable()), under_gunicorn=True)


@pytest.mark.parametrize(
    "fake",
    [
        "changeme",
        "CHANGE_ME",
        "changethis",
        "...",
        "sk-ant-...",
        "your-client-id",
        "YOUR_API_KEY",
        "TODO",
        "todo: set me",
        "xxx",
        "XXXXXXXX",
        "<your key>",
        "  ",
        "postgresql://user:password@host:5432/db",  # pragma: allowlist secret
        "postgresql://<user>:<password>@<host>:5432/<database>",
        "https://api.example.com",
    ],
)
def test_obvious_fakes_are_placeholders(fake: str) -> None:
    assert placeholder_reason(fake)


@pytest.mark.parametrize(
    "real",
    [
        secrets.token_urlsafe(32),
        "sk-ant-api03-" + secrets.token_urlsafe(60),
        "1234567890-abcdefghijklmnop.apps.googleusercontent.com",
        "4f1c2a9e-8d1b-4b8e-9a3f-2c5d6e7f8a9b",
        f"postgresql://app:{secrets.token_urlsafe(16)}@db.internal:5432/app?sslmode=require",
        "https://api.acme.dev",
    ],
)
def test_real_looking_values_are_not(real: str) -> None:
    assert placeholder_reason(real) is None


def test_the_readme_example_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    values = usable(DATABASE_URL="postgresql://user:password@host:5432/db")
    assert named(refusal(production(monkeypatch, **values))) == {"DATABASE_URL"}


@pytest.mark.parametrize(
    "weak",
    ["x" * 31, "a" * 32, "ab" * 16, "abcdefgh" * 4, "changeme" * 4, development_secret_key()],
)
def test_a_short_repetitive_or_development_secret_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    message = refusal(production(monkeypatch, **usable(SECRET_KEY=weak)))
    assert named(message) == {"SECRET_KEY"}
    assert "secrets.token_hex(32)" in message  # how to make a good one
    assert weak not in message  # a secret, even a bad one, stays out of the logs


@pytest.mark.parametrize(
    "key", [secrets.token_hex(32), secrets.token_hex(16), secrets.token_urlsafe(32)]
)
def test_random_secret_keys_are_accepted(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    validate_required(production(monkeypatch, **usable(SECRET_KEY=key)))


def test_sqlite_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    values = usable(DATABASE_URL="sqlite+aiosqlite:///app.db")
    message = refusal(production(monkeypatch, **values))
    assert named(message) == {"DATABASE_URL"} and "SQLite" in message


@pytest.mark.parametrize(
    "url", ["http://api.product.test", "https://api.product.test/v1", "api.product.test"]
)
def test_backend_url_must_be_an_https_origin(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert named(refusal(production(monkeypatch, **usable(BACKEND_URL=url)))) == {"BACKEND_URL"}


def test_backend_url_is_required_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its development default, localhost, is not a setting."""
    values = usable()
    del values["BACKEND_URL"]
    message = refusal(production(monkeypatch, **values))
    assert named(message) == {"BACKEND_URL"} and "BACKEND_URL: unset" in message


@pytest.mark.parametrize("origins", ["https://app.product.test/", "https://a.test, http://b.test"])
def test_cors_origins_must_be_https_origins(monkeypatch: pytest.MonkeyPatch, origins: str) -> None:
    message = refusal(production(monkeypatch, **usable(CORS_ORIGINS=origins)))
    assert named(message) == {"CORS_ORIGINS"}


def test_under_gunicorn_environment_must_be_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    settings = Settings(_env_file=None)
    assert named(refusal(settings, under_gunicorn=True)) == {"ENVIRONMENT"}
    validate_required(settings)  # uvicorn --reload: development, as before


def test_environment_said_in_the_env_file_counts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("ENVIRONMENT=development\n")
    validate_required(Settings(_env_file=env_file), under_gunicorn=True)


@pytest.mark.parametrize("platform", PLATFORM_VARIABLES)
@pytest.mark.parametrize("environment", ["development", "test"])
def test_on_a_platform_only_production_starts(
    monkeypatch: pytest.MonkeyPatch, platform: str, environment: str
) -> None:
    monkeypatch.setenv(platform, "true")
    monkeypatch.setenv("ENVIRONMENT", environment)
    message = refusal(Settings(_env_file=None))
    assert named(message) == {"ENVIRONMENT"} and PLATFORM_VARIABLES[platform] in message


def test_on_a_platform_production_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = production(monkeypatch, **usable())
    monkeypatch.setenv("RENDER", "true")
    validate_required(settings, under_gunicorn=True)


def test_a_mistyped_environment_is_named_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(SystemExit) as exit_info:
        load_settings()
    message = str(exit_info.value.code)
    assert named(message) == {"ENVIRONMENT"} and "'production'" in message


def test_every_refusal_line_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "DATABASE_URL": "postgres://u:p@db.internal/app?channel_binding=require&options=x",
        "BACKEND_URL": "http://localhost:8000/with/a/long/path/that/goes/on/and/on",
    }
    messages = [refusal(production(monkeypatch, **values), under_gunicorn=True)]
    monkeypatch.setenv("RAILWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("ENVIRONMENT", "development")
    messages.append(refusal(Settings(_env_file=None)))
    monkeypatch.delenv("ENVIRONMENT")
    messages.append(refusal(Settings(_env_file=None), under_gunicorn=True))
    for message in messages:
        assert max(len(line) for line in message.splitlines()) <= 80, message
    assert len(named(messages[0])) == len(REQUIRED_IN_PRODUCTION)


def test_required_values_are_also_read_from_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in usable().items()))
    for name in (*REQUIRED_IN_PRODUCTION, "BACKEND_URL", "CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "production")
    validate_required(Settings(_env_file=env_file))


def test_development_works_with_nothing_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*REQUIRED_IN_PRODUCTION, "ENVIRONMENT", *PLATFORM_VARIABLES):
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
        (
            "postgresql://u:p@db/app?sslmode=require&channel_binding=prefer&connect_timeout=10",
            "postgresql+asyncpg://u:p@db/app?ssl=require&timeout=10",
        ),
        ("postgresql://u:p@db/app?target_session_attrs=read-write", None),
        ("sqlite+aiosqlite:///app.db", "sqlite+aiosqlite:///app.db"),
    ],
)
def test_platform_database_urls_get_the_async_driver(given: str, expected: str | None) -> None:
    translated = given.replace("postgresql://", "postgresql+asyncpg://")
    assert async_database_url(given) == (expected or translated)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("sslmode=require&channel_binding=require", ["channel_binding=require"]),
        ("application_name=web&options=-csearch_path%3Dapp", ["application_name", "options"]),
        ("connect_timeout=soon", ["connect_timeout"]),
    ],
)
def test_libpq_parameters_asyncpg_lacks_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, query: str, names: list[str]
) -> None:
    url = f"postgresql://u:p@db.internal/app?{query}"
    with pytest.raises(SystemExit) as exit_info:
        async_database_url(url)  # what `alembic upgrade head` meets first
    message = str(exit_info.value.code)
    assert all(name in message for name in names), message
    monkeypatch.setenv("ENVIRONMENT", "development")
    assert named(refusal(Settings(_env_file=None, database_url=url))) == {"DATABASE_URL"}


async def test_a_neon_style_url_reaches_the_server(unused_port: int) -> None:
    """asyncpg takes the translated parameters: the connection gets as far as the network
    (a closed port) instead of failing on its arguments with a TypeError."""
    url = f"postgresql://u:p@127.0.0.1:{unused_port}/app?sslmode=prefer&connect_timeout=5"
    engine = create_engine(async_database_url(url))
    try:
        with pytest.raises(OSError):
            async with asyncio.timeout(10), engine.connect():
                pass
    finally:
        await engine.dispose()


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_cors_origins_are_a_comma_separated_list() -> None:
    settings = Settings(_env_file=None, cors_origins="https://a.example, https://b.example,")
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]


def test_who_may_sign_in_is_read_as_lists() -> None:
    settings = Settings(
        _env_file=None,
        allowed_email_domains="Example.com, @acme.example,",
        microsoft_allowed_tenants="9188040D-6C67-4C5B-B112-36A304B66DAD",
        native_redirect_uris="com.example.app://auth/callback, https://app.example/cb",
    )
    assert settings.allowed_email_domain_set == {"example.com", "acme.example"}
    assert settings.microsoft_allowed_tenant_set == {"9188040d-6c67-4c5b-b112-36a304b66dad"}
    assert settings.native_redirect_uri_list == [
        "com.example.app://auth/callback",
        "https://app.example/cb",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALLOWED_EMAIL_DOMAINS", "example.com, ada@example.com"),
        ("ALLOWED_EMAIL_DOMAINS", "example.com, localhost"),
        ("MICROSOFT_ALLOWED_TENANTS", "9188040d-6c67-4c5b-b112-36a304b66dad, contoso"),
        ("NATIVE_REDIRECT_URIS", "com.example.app://auth/callback, just-a-path"),
        ("NATIVE_REDIRECT_URIS", "com.example.app://a, com.example.app://auth/callback#x"),
    ],
)
def test_a_malformed_sign_in_restriction_is_named_not_repeated(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """A typo here would lock everyone out, or let everyone in: refused at start."""
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_settings()
    message = str(exit_info.value.code)
    assert named(message) == {name} and "entry 2" in message, message
    assert value.split(",")[1].strip() not in message


def test_integration_keys_are_typed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    api_key, client_secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key)
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "google-id")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", client_secret)
    settings = Settings(_env_file=None)
    assert settings.anthropic_api_key == api_key
    assert settings.oauth_client("google") == ("google-id", client_secret)


def test_your_own_secrets_come_from_the_environment_then_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EXAMPLE_API_KEY=from-file\nEXAMPLE_MODEL=from-file\n")
    monkeypatch.setenv("EXAMPLE_API_KEY", "from-environment")
    monkeypatch.delenv("EXAMPLE_MODEL", raising=False)
    settings = Settings(_env_file=env_file)
    assert settings.extra_secret("EXAMPLE_API_KEY") == "from-environment"
    assert settings.extra_secret("EXAMPLE_MODEL") == "from-file"
    assert settings.extra_secret("EXAMPLE_UNSET") == ""
