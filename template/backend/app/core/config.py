"""Settings from the environment and backend/.env, checked once at start-up."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core import features
from app.core.features import REQUIRED_IN_PRODUCTION

BACKEND_DIR = Path(__file__).resolve().parents[2]

PLACEHOLDERS = {"", "changeme", "changethis"}
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    # extra="allow" keeps the other variables in .env (integration keys, your own secrets)
    # for value_of().
    model_config = SettingsConfigDict(env_file=BACKEND_DIR / ".env", extra="allow")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = ""
    database_url: str = ""
    backend_url: str = "http://localhost:8000"
    cors_origins: str = ""
    # Database connections each worker keeps open, and opens on top under load; INSTANCES
    # is the most instances that share the database. Start-up checks that all of them fit
    # the database's max_connections (app/db.py). Defaults from the answers (features.py).
    db_pool_size: int = Field(default=features.DB_POOL_SIZE, ge=1)
    db_max_overflow: int = Field(default=features.DB_MAX_OVERFLOW, ge=0)
    instances: int = Field(default=features.INSTANCES, ge=1)

    @model_validator(mode="after")
    def _development_defaults(self) -> Settings:
        if not self.is_production and not self.secret_key:
            self.secret_key = development_secret_key()
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def sqlalchemy_database_url(self) -> str:
        if not self.database_url:
            return f"sqlite+aiosqlite:///{BACKEND_DIR / 'app.db'}"
        return async_database_url(self.database_url)

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    def value_of(self, name: str) -> str:
        """Any variable by name, with the same precedence as the fields: the environment,
        then backend/.env. Integrations read their keys this way."""
        if name.lower() in type(self).model_fields:
            return str(getattr(self, name.lower()))
        if name in os.environ:
            return os.environ[name]
        return str((self.model_extra or {}).get(name.lower(), ""))


def development_secret_key() -> str:
    """The key outside production when SECRET_KEY is unset (a fresh clone has no .env).
    Tokens there need no secrecy, but they must survive a restart and be the same in every
    worker: so a key derived from where this checkout lives, which production refuses."""
    return hashlib.sha256(f"development:{BACKEND_DIR}".encode()).hexdigest()


def async_database_url(url: str) -> str:
    """Render and Railway hand out postgres:// or postgresql:// URLs; SQLAlchemy's async
    engine needs the driver named, and asyncpg spells libpq's sslmode as ssl."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return url
    query = [("ssl" if key == "sslmode" else key, value) for key, value in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", query=urlencode(query)))


def missing_in_production(settings: Settings) -> list[str]:
    """Names of the required variables that are unset or still a placeholder."""
    missing = []
    for name in REQUIRED_IN_PRODUCTION:
        value = settings.value_of(name).strip()
        too_short = name == "SECRET_KEY" and len(value.encode()) < MIN_SECRET_KEY_BYTES
        development_key = name == "SECRET_KEY" and value == development_secret_key()
        if value.lower() in PLACEHOLDERS or too_short or development_key:
            missing.append(name)
    return missing


def validate_required(settings: Settings) -> None:
    """Stop the process, naming every variable production still needs."""
    if not settings.is_production:
        return
    missing = missing_in_production(settings)
    if missing:
        raise SystemExit(
            "Refusing to start in production; missing or placeholder settings: "
            + ", ".join(missing)
            + ". Set them in the environment (backend/.env.example describes each)."
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
