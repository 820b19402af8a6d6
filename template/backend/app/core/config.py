"""Settings from the environment and backend/.env, checked once at start-up."""

from __future__ import annotations

import hashlib
import math
import os
import re
import textwrap
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core import features
from app.core.features import REQUIRED_IN_PRODUCTION

BACKEND_DIR = Path(__file__).resolve().parents[2]

MIN_SECRET_KEY_BYTES = 32
# Bits per character (Shannon): token_hex(16), the shortest random key that is long
# enough, scores about 3.5; a key typed by hand like "aaaa…" or "abab…" scores 0 or 1.
MIN_SECRET_KEY_ENTROPY = 2.5
NEW_SECRET_KEY = 'python3 -c "import secrets; print(secrets.token_hex(32))"'

# Values people paste where a real one belongs: the README's own examples among them.
PLACEHOLDER_WORDS = {
    "changeme",
    "changethis",
    "replaceme",
    "todo",
    "tbd",
    "fixme",
    "placeholder",
    "secret",
    "password",
    "none",
    "null",
    "example",
}
PLACEHOLDER_PATTERN = re.compile(
    r"\.\.\.|…"  # an elided example: sk-ant-...
    r"|<[^<>]*>"  # <user>, <your key>
    r"|^your[\s_-]"  # your-client-id, YOUR_API_KEY
    r"|^[x*#]{3,}$"  # xxx, ***
    r"|\b(todo|fixme|changeme)\b",
    re.IGNORECASE,
)
# Host names no deployed service has: RFC 2606's documentation names and generic words.
EXAMPLE_HOSTS = {"host", "hostname", "server", "example.com", "example.net", "example.org"}
EXAMPLE_SUFFIXES = (".example.com", ".example.net", ".example.org", ".example", ".invalid")
EXAMPLE_CREDENTIALS = {"password", "pass", "secret", "changeme"}
ORIGIN = re.compile(r"https://[a-z0-9.-]+(:[0-9]+)?", re.IGNORECASE)
EMAIL_DOMAIN = re.compile(r"@?[a-z0-9-]+(\.[a-z0-9-]+)+", re.IGNORECASE)
TENANT_ID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.IGNORECASE)
# A custom scheme (com.example.app://auth/callback) or an https app link; no fragment.
NATIVE_URI = re.compile(r"[a-z][a-z0-9+.-]*://[^\s#,]+", re.IGNORECASE)

# libpq's URL parameters that asyncpg spells differently, and those it can do without.
LIBPQ_RENAMED = {"sslmode": "ssl", "connect_timeout": "timeout"}
LIBPQ_DROPPABLE = {"channel_binding": {"disable", "prefer"}, "gssencmode": {"disable", "prefer"}}
# What asyncpg.connect() takes from a URL (and SQLAlchemy's own prepared-statement cache).
ASYNCPG_PARAMETERS = {
    "ssl",
    "timeout",
    "command_timeout",
    "target_session_attrs",
    "krbsrvname",
    "gsslib",
    "passfile",
    "direct_tls",
    "statement_cache_size",
    "max_cached_statement_lifetime",
    "max_cacheable_statement_size",
    "prepared_statement_cache_size",
}
PLATFORM_VARIABLES = {
    "RENDER": "Render",
    "RAILWAY_ENVIRONMENT": "Railway",
    "RAILWAY_ENVIRONMENT_NAME": "Railway",
}


class OAuthClient(NamedTuple):
    client_id: str
    client_secret: str


class Settings(BaseSettings):
    # extra="allow" keeps your own secrets from backend/.env for extra_secret().
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
    # The largest request body, in bytes; a bigger one gets 413 before it is read
    # (app/request_limits.py). A chat message at its longest, every character escaped
    # in JSON (\uXXXX), is under 50 KB.
    max_request_bytes: int = Field(default=65_536, ge=1)

    # Chat: the characters of earlier turns sent with each new message (the newest turns
    # that fit; the message itself is at most schemas.MAX_MESSAGE_CHARS), and the longest
    # one reply may take, from the request to the provider's last event. A redeploy gives
    # open replies Gunicorn's graceful_timeout (25 s) to end.
    chat_history_chars: int = Field(default=20_000, ge=0)
    chat_reply_timeout_seconds: float = Field(default=60, gt=0)

    # Chat limits, shared by every worker and instance through the database
    # (app/chat/limits.py); per user, or per client address without sign-in. The cap on
    # open streams is always on; 0 turns any of the other three off.
    chat_max_concurrent_streams: int = Field(default=2, ge=1)
    chat_requests_per_minute: int = Field(default=10, ge=0)
    chat_daily_tokens_per_user: int = Field(default=200_000, ge=0)
    # The whole service's tokens a day (UTC): a circuit breaker on the bill.
    chat_daily_tokens_total: int = Field(default=5_000_000, ge=0)

    # Integrations: empty unless the project was generated with them and they are set.
    anthropic_api_key: str = ""
    anthropic_model: str = ""
    google_client_id: str = ""
    google_client_secret: str = ""
    microsoft_client_id: str = ""
    microsoft_client_secret: str = ""

    # Who may sign in, each comma-separated; empty lets anyone in. Email domains are
    # matched against the provider's verified address only; tenants against Microsoft's
    # `tid` (personal Microsoft accounts share one: 9188040d-6c67-4c5b-b112-36a304b66dad).
    allowed_email_domains: str = ""
    microsoft_allowed_tenants: str = ""
    # Exact addresses a sign-in may return to besides the web app's origins (CORS_ORIGINS):
    # the phone apps' callback. Default from the answers (features.py).
    native_redirect_uris: str = features.NATIVE_REDIRECT_URIS

    # The refusal names the entry by position: load_settings() repeats no values.
    @field_validator("allowed_email_domains")
    @classmethod
    def _email_domains(cls, value: str) -> str:
        return checked_entries(value, EMAIL_DOMAIN, "an email domain such as example.com")

    @field_validator("microsoft_allowed_tenants")
    @classmethod
    def _tenants(cls, value: str) -> str:
        return checked_entries(value, TENANT_ID, "a tenant id (a GUID)")

    @field_validator("native_redirect_uris")
    @classmethod
    def _native_redirect_uris(cls, value: str) -> str:
        return checked_entries(
            value, NATIVE_URI, "an address such as com.example.app://auth/callback"
        )

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
        return comma_separated(self.cors_origins)

    @property
    def allowed_email_domain_set(self) -> frozenset[str]:
        return frozenset(d.lstrip("@").lower() for d in comma_separated(self.allowed_email_domains))

    @property
    def microsoft_allowed_tenant_set(self) -> frozenset[str]:
        return frozenset(t.lower() for t in comma_separated(self.microsoft_allowed_tenants))

    @property
    def native_redirect_uri_list(self) -> list[str]:
        return comma_separated(self.native_redirect_uris)

    def oauth_client(self, provider: str) -> OAuthClient:
        """The registered app of a sign-in provider (features.OAUTH_PROVIDERS)."""
        clients = {
            "google": OAuthClient(self.google_client_id, self.google_client_secret),
            "microsoft": OAuthClient(self.microsoft_client_id, self.microsoft_client_secret),
        }
        return clients[provider]

    def extra_secret(self, name: str) -> str:
        """One of your own secrets (the `extra_secrets` answer) by its variable name, with
        the fields' precedence: the environment, then backend/.env."""
        if name in os.environ:
            return os.environ[name]
        return str((self.model_extra or {}).get(name.lower(), ""))

    def named(self, name: str) -> str:
        """A required variable's value, whether a field or one of your own secrets."""
        if name.lower() in type(self).model_fields:
            return str(getattr(self, name.lower()))
        return self.extra_secret(name)


def comma_separated(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def checked_entries(value: str, pattern: re.Pattern[str], expected: str) -> str:
    """`value` when every comma-separated entry matches `pattern`."""
    for number, entry in enumerate(comma_separated(value), 1):
        if not pattern.fullmatch(entry):
            raise ValueError(f"entry {number} is not {expected} (comma-separated)")
    return value


def development_secret_key() -> str:
    """The key outside production when SECRET_KEY is unset (a fresh clone has no .env).
    Tokens there need no secrecy, but they must survive a restart and be the same in every
    worker: so a key derived from where this checkout lives, which production refuses."""
    return hashlib.sha256(f"development:{BACKEND_DIR}".encode()).hexdigest()


def database_url_problems(url: str) -> list[str]:
    """Why asyncpg could not use this URL: the libpq parameters it has no word for."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return []
    unknown, problems = [], []
    for key, value in parse_qsl(parts.query):
        if key == "connect_timeout" and not re.fullmatch(r"\d+(\.\d+)?", value):
            problems.append("connect_timeout must be a number of seconds")
        elif key == "channel_binding" and value not in LIBPQ_DROPPABLE[key]:
            # asyncpg's SCRAM never binds the channel; verify-full authenticates the server.
            problems.append(f"asyncpg cannot do channel_binding={value}; remove it")
        elif key in LIBPQ_DROPPABLE and value in LIBPQ_DROPPABLE[key]:
            continue
        elif key not in LIBPQ_RENAMED and key not in ASYNCPG_PARAMETERS:
            unknown.append(key)
    if unknown:
        problems.append(f"asyncpg takes no {', '.join(unknown)}; remove from the URL")
    return problems


def async_database_url(url: str) -> str:
    """Render and Railway hand out postgres:// or postgresql:// URLs; SQLAlchemy's async
    engine needs the driver named, and asyncpg spells some of libpq's parameters its own
    way (sslmode=require is ssl=require) and lacks others (refused, by name)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return url
    if problems := database_url_problems(url):
        raise SystemExit(refusal([f"DATABASE_URL: {problem}" for problem in problems]))
    query = [
        (LIBPQ_RENAMED.get(key, key), value)
        for key, value in parse_qsl(parts.query)
        if not (key in LIBPQ_DROPPABLE and value in LIBPQ_DROPPABLE[key])
    ]
    return urlunsplit(parts._replace(scheme="postgresql+asyncpg", query=urlencode(query)))


def placeholder_reason(value: str) -> str | None:
    """Why a value is not a real one, or None when nothing gives it away."""
    stripped = value.strip()
    if not stripped:
        return "unset"
    if re.sub(r"[\s_.-]", "", stripped.lower()) in PLACEHOLDER_WORDS:
        return "a placeholder"
    if PLACEHOLDER_PATTERN.search(stripped):
        return "a placeholder"
    if "://" in stripped:
        parts = urlsplit(stripped)
        host = (parts.hostname or "").lower()
        if host in EXAMPLE_HOSTS or host.endswith(EXAMPLE_SUFFIXES):
            return "an example address"
        if (parts.password or "").lower() in EXAMPLE_CREDENTIALS:
            return "example credentials"
    return None


def entropy_bits_per_character(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def is_repeated_pattern(value: str) -> bool:
    """abcdabcd…: a short run typed again and again."""
    return any(
        value == (value[:period] * (len(value) // period + 1))[: len(value)]
        for period in range(1, len(value) // 2 + 1)
    )


def secret_key_reason(value: str) -> str | None:
    if len(value.encode()) < MIN_SECRET_KEY_BYTES:
        return f"shorter than {MIN_SECRET_KEY_BYTES} bytes"
    if value == development_secret_key():
        return "the development key"
    if entropy_bits_per_character(value) < MIN_SECRET_KEY_ENTROPY or is_repeated_pattern(value):
        return "too little variety to be random"
    return None


def url_reason(name: str, value: str) -> str | None:
    """BACKEND_URL is one https origin; CORS_ORIGINS a comma-separated list of them."""
    origins = [value] if name == "BACKEND_URL" else value.split(",")
    if all(ORIGIN.fullmatch(origin.strip()) for origin in origins if origin.strip()):
        return None
    return "need https://host, no path" + (" (comma-separated)" if name == "CORS_ORIGINS" else "")


def database_reason(value: str) -> str | None:
    scheme = urlsplit(value).scheme
    if scheme.startswith("sqlite"):
        return "SQLite is for development; production needs Postgres"
    if scheme not in ("postgres", "postgresql", "postgresql+asyncpg"):
        return "need a postgres:// or postgresql:// URL"
    return None


def production_problems(settings: Settings) -> list[str]:
    """One line per required variable that is unset, a placeholder or unusable."""
    problems = []
    for name in REQUIRED_IN_PRODUCTION:
        value = settings.named(name).strip()
        if name == "BACKEND_URL" and "backend_url" not in settings.model_fields_set:
            value = ""  # localhost, the development default, is no production setting
        reason = placeholder_reason(value)
        if reason is None and name == "SECRET_KEY":
            reason = secret_key_reason(value)
        elif reason is None and name in ("BACKEND_URL", "CORS_ORIGINS"):
            reason = url_reason(name, value)
        elif reason is None and name == "DATABASE_URL":
            reason = database_reason(value)
        if reason:
            problems.append(f"{name}: {reason}")
    return problems


def start_problems(
    settings: Settings, under_gunicorn: bool, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """Everything that stops this process from starting, one short line each."""
    problems = []
    platforms = [label for name, label in PLATFORM_VARIABLES.items() if name in environ]
    if under_gunicorn and "environment" not in settings.model_fields_set:
        problems.append(
            "ENVIRONMENT: unset; under Gunicorn say which (production, or development"
            " to try the production server locally)"
        )
    elif platforms and not settings.is_production:
        problems.append(
            f"ENVIRONMENT: {settings.environment} on {platforms[0]}, where deploys run production"
        )
    if settings.is_production:
        problems += production_problems(settings)
    if settings.database_url and not any(p.startswith("DATABASE_URL") for p in problems):
        problems += [f"DATABASE_URL: {p}" for p in database_url_problems(settings.database_url)]
    return problems


def refusal(problems: list[str]) -> str:
    """The message to stop with; every line fits an 80-column terminal."""
    lines = ["Refusing to start; missing or placeholder settings:"]
    for problem in problems:
        lines += textwrap.wrap(problem, 78, initial_indent="  ", subsequent_indent="    ")
    lines.append("Set them in the environment (backend/.env.example describes each).")
    if any(problem.startswith("SECRET_KEY") for problem in problems):
        lines.append(f"A new SECRET_KEY: {NEW_SECRET_KEY}")
    return "\n".join(lines)


def validate_required(settings: Settings, *, under_gunicorn: bool = False) -> None:
    """Stop the process, naming every setting that is missing or unusable. Under Gunicorn
    (the production server) ENVIRONMENT must be set: unset, it would mean development."""
    if problems := start_problems(settings, under_gunicorn):
        raise SystemExit(refusal(problems))


def load_settings() -> Settings:
    """Settings(), or a refusal naming each variable whose value has the wrong form
    (ENVIRONMENT=prod), in place of a validation traceback. Values are not repeated."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [f"{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()]
        raise SystemExit(refusal(problems)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
