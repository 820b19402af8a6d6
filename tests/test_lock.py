"""The backend's lock: one per integrations combination (locks/, made by scripts/lock.py),
each the resolution of the pyproject.toml a project gets, its requirements.txt the lock's
exact export, and every direct dependency there for a reason."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harness.answer_sets import ANSWER_SETS
from harness.backend import UV
from harness.project import REPO, Project

# An answer set per lock, and the lock each one must get.
LOCK_SETS = {
    "no-integrations": "locks/no-ai-no-sign-in",
    "ai-only": "locks/ai-no-sign-in",
    "google-only": "locks/no-ai-sign-in",
    "default": "locks/ai-sign-in",
}
LOCK_FILES = ("uv.lock", "requirements.txt")

# Why each direct dependency is there: where the project uses it. Service dependencies
# must be used outside backend/tests/; the dev group's anywhere.
SERVICE_USES = {
    "fastapi": r"^from fastapi\b",
    "uvicorn": r"^uvicorn main:app --reload",  # the README's development server
    "uvicorn-worker": r"^from uvicorn_worker import UvicornWorker\b",  # app/server.py
    "gunicorn": r"\bgunicorn main:app\b",
    "sqlalchemy": r"^from sqlalchemy\b",
    "alembic": r"^from alembic\b",
    "asyncpg": r"\bpostgresql\+asyncpg\b",
    "aiosqlite": r"\bsqlite\+aiosqlite\b",
    "pydantic-settings": r"^from pydantic_settings\b",
    "anthropic": r"^import anthropic\b",
    "sse-starlette": r"^from sse_starlette\b",
    "anyio": r"^import anyio\b",
    "authlib": r"^from authlib\b",
    # Authlib's Starlette client makes its requests with it (Authlib doesn't require it).
    "httpx2": r"^from authlib\.integrations\.starlette_client import",
    "itsdangerous": r"^from starlette\.middleware\.sessions import",  # it signs with it
    "pyjwt": r"^import jwt\b",
}
DEV_USES = {
    "pytest": r"^import pytest\b",
    "pytest-asyncio": r"^async def test_",
    "httpx2": r"^import httpx2\b",
    "cryptography": r"^from cryptography\b",
    "ruff": r"\buv run ruff\b",
    "mypy": r"\buv run mypy\b",
}


# Modules whose distribution has another name.
DISTRIBUTIONS = {
    "jwt": "pyjwt",
    "pydantic_settings": "pydantic-settings",
    "sse_starlette": "sse-starlette",
}
# Imported, but only through FastAPI's own API (it pins the versions it supports).
VIA_FASTAPI = {"starlette", "pydantic", "pydantic_core"}


def _uv(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # Settings by environment: an export's header records its command-line flags.
    env = {**os.environ, "UV_NO_CONFIG": "1", **env}
    return subprocess.run(
        [*UV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _copy_backend(project: Project, tmp_path: Path) -> Path:
    """The files uv reads, in a folder of the test's own (the rendered project is shared)."""
    for name in ("pyproject.toml", *LOCK_FILES):
        shutil.copy2(project.path / "backend" / name, tmp_path / name)
    return tmp_path


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0].lower()


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_every_answer_set_gets_the_lock_of_its_integrations(rendered, name: str) -> None:
    project = rendered(name)
    answers = project.answers
    ai = "ai" if answers["use_ai"] else "no-ai"
    sign_in = "sign-in" if answers["oauth_providers"] else "no-sign-in"
    assert answers["backend_lock"] == f"locks/{ai}-{sign_in}"
    for file in LOCK_FILES:
        rendered_file = (project.path / "backend" / file).read_bytes()
        assert rendered_file == (REPO / answers["backend_lock"] / file).read_bytes(), file


def test_the_locks_are_exactly_the_four_combinations() -> None:
    assert {p.relative_to(REPO).as_posix() for p in (REPO / "locks").iterdir()} == set(
        LOCK_SETS.values()
    )
    for lock in LOCK_SETS.values():
        assert sorted(p.name for p in (REPO / lock).iterdir()) == sorted(LOCK_FILES)
        for file in LOCK_FILES:
            text = (REPO / lock / file).read_text()
            # uv.lock.jinja includes it as a template: it must render to itself.
            assert not re.search(r"\{[{%#]", text), f"{lock}/{file}"


@pytest.mark.slow
@pytest.mark.parametrize("name", LOCK_SETS)
def test_the_lock_is_up_to_date_with_pyproject(rendered, name: str, tmp_path: Path) -> None:
    backend = _copy_backend(rendered(name), tmp_path)
    result = _uv("lock", "--check", cwd=backend)
    assert result.returncode == 0, f"{result.stderr}\nrun: python scripts/lock.py"


@pytest.mark.parametrize("name", LOCK_SETS)
def test_requirements_txt_is_the_locks_export(rendered, name: str, tmp_path: Path) -> None:
    backend = _copy_backend(rendered(name), tmp_path)
    shipped = (backend / "requirements.txt").read_text()
    # Made by the command its header names (the generated CI re-runs it).
    header = shipped.splitlines()[:2]
    assert header[0] == "# This file was autogenerated by uv via the following command:"
    command = header[1].removeprefix("#").split()
    assert command[:2] == ["uv", "export"] and "--no-dev" in command and "--locked" in command
    (backend / "requirements.txt").unlink()
    result = _uv(*command[1:], cwd=backend, UV_OFFLINE="1")
    assert result.returncode == 0, result.stderr
    assert (backend / "requirements.txt").read_text() == shipped, "run: python scripts/lock.py"
    # Every package pinned, hashes following, for pip's hash-checking mode.
    entries = [line for line in shipped.splitlines() if line and line[0] not in "# "]
    pins = [re.fullmatch(r"([a-z0-9][a-z0-9._-]*)==\S+( ; .+)? \\", e) for e in entries]
    assert all(pins), entries
    lock = tomllib.loads((backend / "uv.lock").read_text())
    locked = {p["name"] for p in lock["package"] if p["source"].get("registry")}
    assert {pin[1] for pin in pins if pin} <= locked
    assert "gunicorn" in {pin[1] for pin in pins if pin}


@pytest.mark.parametrize("name", LOCK_SETS)
def test_every_direct_dependency_is_used(rendered, name: str) -> None:
    project = rendered(name)
    pyproject = tomllib.loads(project.read("backend/pyproject.toml"))
    skip = {"backend/uv.lock", "backend/requirements.txt", "backend/pyproject.toml"}
    files = {f: (project.path / f).read_text(errors="replace") for f in project.files() - skip}
    service_text = "\n".join(t for f, t in files.items() if not f.startswith("backend/tests/"))
    service_text += "\n" + project.answers["start_command"]
    all_text = "\n".join(files.values())
    for requirement in pyproject["project"]["dependencies"]:
        pattern = SERVICE_USES.get(_name(requirement))
        assert pattern, f"{requirement}: say in SERVICE_USES what uses it"
        assert re.search(pattern, service_text, re.M), f"{requirement} is pinned but not used"
    for requirement in pyproject["dependency-groups"]["dev"]:
        pattern = DEV_USES.get(_name(requirement))
        assert pattern, f"{requirement}: say in DEV_USES what uses it"
        assert re.search(pattern, all_text, re.M), f"{requirement} is pinned but not used"
    # Pins, so the lock moves only when someone (or Dependabot) moves them.
    for requirement in pyproject["project"]["dependencies"] + pyproject["dependency-groups"]["dev"]:
        assert re.fullmatch(r"[a-z0-9-]+(\[[a-z,]+\])?==\d+(\.\d+)+", requirement), requirement


def test_the_template_tests_with_the_uv_projects_ask_for(rendered) -> None:
    """The uv of the template's test extra (which made the locks) meets the floor a
    project declares, which is what its CI installs."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (pin,) = [p for p in extra["optional-dependencies"]["test"] if p.startswith("uv==")]
    project = tomllib.loads(rendered("default").read("backend/pyproject.toml"))
    assert project["tool"]["uv"]["required-version"] == ">=" + pin.removeprefix("uv==")


@pytest.mark.parametrize("name", LOCK_SETS)
def test_every_import_is_a_direct_dependency(rendered, name: str) -> None:
    """What the code imports is pinned by name, not present by chance through another
    package (the way `import httpx` outlived the httpx it meant)."""
    project = rendered(name)
    backend = project.path / "backend"
    pyproject = tomllib.loads((backend / "pyproject.toml").read_text())
    service = {_name(r) for r in pyproject["project"]["dependencies"]}
    dev = service | {_name(r) for r in pyproject["dependency-groups"]["dev"]}
    first_party = {"app", "main", "tests", "gunicorn"} | set(sys.stdlib_module_names)
    for path in backend.rglob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {
            n.module
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and not n.level and n.module
        }
        declared = dev if path.relative_to(backend).parts[0] == "tests" else service
        for module in {m.split(".")[0] for m in modules if m} - first_party - VIA_FASTAPI:
            distribution = DISTRIBUTIONS.get(module, module.replace("_", "-"))
            assert distribution in declared, f"{path.relative_to(backend)} imports {module}"
