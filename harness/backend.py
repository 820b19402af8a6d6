"""Running generated backends: one shared virtualenv, the environment they run in, fresh
Postgres databases, and the start command as a platform reads it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import yaml

# Survives between sessions: installing the backend's locked packages takes a while.
CACHE = Path(
    os.environ.get("BACKEND_VENV_CACHE", Path.home() / ".cache" / "copier-fastapi-flutter")
)
# The uv the test extra pins, run by the interpreter it is installed in.
UV = (sys.executable, "-m", "uv")
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")

# Variables the generated backend reads: a test sets each one it means, never inherits them.
APP_VARIABLES = (
    "ENVIRONMENT",
    "SECRET_KEY",
    "DATABASE_URL",
    "BACKEND_URL",
    "CORS_ORIGINS",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CHAT_HISTORY_CHARS",
    "CHAT_REPLY_TIMEOUT_SECONDS",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "MICROSOFT_CLIENT_ID",
    "MICROSOFT_CLIENT_SECRET",
    "WEB_CONCURRENCY",
    "PORT",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "INSTANCES",
    "MAX_REQUEST_BYTES",
    "CHAT_MAX_CONCURRENT_STREAMS",
    "CHAT_REQUESTS_PER_MINUTE",
    "CHAT_DAILY_TOKENS_PER_USER",
    "CHAT_DAILY_TOKENS_TOTAL",
    # A platform's marks: with one, only ENVIRONMENT=production starts.
    "RENDER",
    "RAILWAY_ENVIRONMENT",
    "RAILWAY_ENVIRONMENT_NAME",
)


# Chat limits (a generated backend with chat has them) high enough that a load from one
# address is never refused, while every check still runs.
HIGH_CHAT_LIMITS = {
    "CHAT_MAX_CONCURRENT_STREAMS": "100000",
    "CHAT_REQUESTS_PER_MINUTE": "1000000",
    "CHAT_DAILY_TOKENS_PER_USER": "1000000000000",
    "CHAT_DAILY_TOKENS_TOTAL": "1000000000000",
}


def backend_venv(backend_dir: Path) -> Path:
    """The python of a virtualenv holding backend_dir's uv.lock (dev group included),
    installed by `uv sync --locked` once per lock; a file lock lets xdist workers share it."""
    lock = (backend_dir / "uv.lock").read_bytes()
    digest = hashlib.sha256(sys.version.encode() + b"\n" + lock).hexdigest()[:16]
    venv = CACHE / f"backend-venv-{digest}"
    python = venv / "bin" / "python"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{venv.name}.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            # Into the cache, not backend_dir/.venv: the rendered project stays as it was.
            env = {
                **os.environ,
                "UV_PROJECT_ENVIRONMENT": str(venv),
                "UV_PYTHON_DOWNLOADS": "never",
            }
            env.pop("VIRTUAL_ENV", None)
            subprocess.run(
                [*UV, "sync", "--locked", "--quiet", "--no-config", "--python", sys.executable],
                cwd=backend_dir,
                env=env,
                check=True,
                timeout=900,
            )
            (venv / ".complete").touch()
    return python


def backend_env(python: Path, **variables: str) -> dict[str, str]:
    """The environment for a generated backend: this one minus anything the app or pytest
    reads, the venv first on PATH, plus `variables`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in APP_VARIABLES and not key.startswith(("PYTEST_", "COV_"))
    }
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave the rendered project as it was
    env.update(variables)
    return env


def _postgres(python: Path, statement: str) -> None:
    script = (
        "import asyncio, sys, asyncpg\n"
        "async def main():\n"
        "    connection = await asyncpg.connect(sys.argv[1])\n"
        "    await connection.execute(sys.argv[2])\n"
        "    await connection.close()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run(
        [str(python), "-c", script, f"{POSTGRES}/test", statement], check=True, timeout=60
    )


@contextlib.contextmanager
def postgres_database(python: Path) -> Iterator[str]:
    """A fresh, empty database on the local Postgres server; its URL. Dropped afterwards."""
    name = f"backend_test_{uuid.uuid4().hex[:12]}"
    _postgres(python, f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        _postgres(python, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_command(project: Path) -> str:
    """The start command as a platform reads it: the Procfile's web line, or render.yaml's."""
    procfile = project / "backend" / "Procfile"
    if procfile.exists():
        return procfile.read_text().strip().removeprefix("web:").strip()
    blueprint = yaml.safe_load((project / "render.yaml").read_text())
    command: str = next(
        s["startCommand"] for s in blueprint["services"] if s.get("rootDir") == "backend"
    )
    return command
