"""The generated backend: lint-clean for every answer set; for the answer sets that shape
it, its own suite passes on SQLite and Postgres, and the service starts with the
platforms' exact command, answers over HTTP, and refuses a bare production start."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.answer_sets import ANSWER_SETS
from harness.backend import backend_env, postgres_database
from harness.project import Project
from linters import ruff

# All integrations; none; AI alone; one sign-in provider without AI.
SUITE_SETS = ["default", "no-integrations", "ai-only", "google-only"]
STARTUP_SECONDS = 60


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_generated_python_is_lint_clean(rendered: Callable[[str], Project], name: str) -> None:
    project = rendered(name)
    assert ruff(project.path) == ""


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_only_chosen_features_are_generated(rendered: Callable[[str], Project], name: str) -> None:
    project = rendered(name)
    backend = project.path / "backend"
    assert (backend / "app/chat/routes.py").exists() == project.answers["use_ai"]
    assert (backend / "app/auth/routes.py").exists() == bool(project.answers["oauth_providers"])
    # A history is kept per signed-in user: without sign-in there is none to list.
    history = project.answers["use_ai"] and bool(project.answers["oauth_providers"])
    assert (backend / "app/chat/conversations.py").exists() == history
    requirements = (backend / "requirements.txt").read_text()
    assert ("anthropic==" in requirements) == project.answers["use_ai"]
    assert ("authlib==" in requirements) == bool(project.answers["oauth_providers"])
    assert "uvicorn.workers" not in requirements + project.answers["start_command"]


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_env_example_lists_every_setting(rendered: Callable[[str], Project], name: str) -> None:
    project = rendered(name)
    example = (project.path / "backend/.env.example").read_text()
    # SECRET_KEY is there commented out: copying the file must not replace the generated key.
    names = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert not re.search(r"^SECRET_KEY=", example, flags=re.MULTILINE)
    for variable in project.answers["required_in_production"]:
        assert variable in names
    assert {"ENVIRONMENT", "SECRET_KEY", "DATABASE_URL", "BACKEND_URL", "CORS_ORIGINS"} <= names
    if project.answers["use_ai"]:
        assert set(CHAT_LIMITS) <= names


CHAT_LIMITS = (
    "CHAT_MAX_CONCURRENT_STREAMS",
    "CHAT_REQUESTS_PER_MINUTE",
    "CHAT_DAILY_TOKENS_PER_USER",
    "CHAT_DAILY_TOKENS_TOTAL",
)


@pytest.mark.parametrize("name", ["default", "ai-only"])
def test_the_readme_gives_the_chat_limits_and_who_may_chat(
    rendered: Callable[[str], Project], name: str
) -> None:
    project = rendered(name)
    readme = " ".join(project.read("README.md").split())
    assert all(f"`{variable}`" in readme for variable in CHAT_LIMITS)
    open_to_all = "anyone who has the backend's URL can use the chat"
    assert (open_to_all in readme) == (not project.answers["oauth_providers"])


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_the_phone_apps_callback_is_an_allowed_redirect(
    rendered: Callable[[str], Project], name: str
) -> None:
    """NATIVE_REDIRECT_URIS defaults to the address the phone apps return to after a
    sign-in (lib/config.dart's appScheme), and is empty without phones or sign-in."""
    project = rendered(name)
    answers = project.answers
    phones = answers["include_frontend"] and set(answers["flutter_platforms"]) - {"web"}
    features = project.read("backend/app/core/features.py")
    (default,) = re.findall(r'^NATIVE_REDIRECT_URIS = "(.*)"$', features, flags=re.MULTILINE)
    if phones and answers["oauth_providers"]:
        assert default == f"{answers['app_scheme']}://auth/callback"
        config = project.read("frontend/lib/config.dart")
        assert f"const appScheme = '{answers['app_scheme']}';" in config
    else:
        assert default == ""


def run_suite(python: Path, project: Project, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project.path / "backend",
        env=backend_env(python, **variables),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITE_SETS)
def test_generated_suite_passes_on_sqlite(
    backend_python: Path, rendered: Callable[[str], Project], name: str
) -> None:
    result = run_suite(backend_python, rendered(name))
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITE_SETS)
def test_generated_suite_passes_on_postgres(
    backend_python: Path, rendered: Callable[[str], Project], name: str
) -> None:
    with postgres_database(backend_python) as url:
        result = run_suite(backend_python, rendered(name), DATABASE_URL=url)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.slow
def test_concurrent_migrations_take_turns(
    backend_python: Path, rendered: Callable[[str], Project]
) -> None:
    project = rendered("default")
    command = project.answers["migrate_command"]
    with postgres_database(backend_python) as url:
        env = backend_env(backend_python, DATABASE_URL=url)
        migrations = [
            subprocess.Popen(
                ["sh", "-c", command],
                cwd=project.path / "backend",
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [migration.communicate(timeout=120)[0] for migration in migrations]
    for migration, output in zip(migrations, outputs, strict=True):
        assert migration.returncode == 0, output
    assert sum("Running upgrade  -> 0001" in output for output in outputs) == 1
