"""Deploy files: valid for their platform, and all carrying the same decisions."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.answer_sets import ANSWER_SETS
from harness.project import SHARED, Project
from node_tools import tsc

RENDER_SCHEMA = json.loads((SHARED / "schemas" / "render.schema.json").read_text())


def _render_sets(want) -> list[str]:
    return [n for n, a in ANSWER_SETS.items() if want(a.get("deploy_target", "both"), a)]


RENDER_SETS = _render_sets(lambda target, a: target in ("render", "both"))
RAILWAY_SETS = _render_sets(lambda target, a: target in ("railway", "both"))
IAC_SETS = [n for n in RAILWAY_SETS if ANSWER_SETS[n].get("railway_config", "iac") == "iac"]
JSON_SETS = [n for n in RAILWAY_SETS if ANSWER_SETS[n].get("railway_config") == "json"]


def _flag(command: str, name: str) -> str:
    """The value of `--name VALUE` in a command line."""
    match = re.search(rf"--{name} (\S+)", command)
    assert match, f"--{name} missing from {command}"
    return match[1]


def start_commands(project: Project) -> dict[str, str]:
    """Every place a generated project states the start command, by file."""
    found = {}
    if (project.path / "backend/Procfile").exists():
        (line,) = project.read("backend/Procfile").splitlines()
        found["backend/Procfile"] = line.removeprefix("web: ")
    if (project.path / "render.yaml").exists():
        backend = yaml.safe_load(project.read("render.yaml"))["services"][0]
        found["render.yaml"] = backend["startCommand"]
    if (project.path / "backend/railway.json").exists():
        found["backend/railway.json"] = json.loads(project.read("backend/railway.json"))["deploy"][
            "startCommand"
        ]
    if (project.path / ".railway/railway.ts").exists():
        (start,) = re.findall(r'^\s*start: "(.*)",$', project.read(".railway/railway.ts"), re.M)
        found[".railway/railway.ts"] = json.loads(f'"{start}"')
    return found


# ------------------------------------------------------------------ start command
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_start_command_is_identical_everywhere(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    commands = start_commands(project)
    platforms = {"railway": 2, "render": 1, "both": 3, "none": 0}[answers["deploy_target"]]
    assert len(commands) == platforms, commands
    assert set(commands.values()) <= {answers["start_command"]}
    assert f"\n{answers['start_command']}\n" in project.read("README.md")

    command = answers["start_command"]
    assert command.startswith("gunicorn main:app ")
    assert f" --workers {answers['workers']} " in command
    assert f" --timeout {answers['timeout']} " in command
    assert " --worker-class uvicorn_worker.UvicornWorker " in command
    assert " --bind 0.0.0.0:$PORT " in command
    graceful = int(_flag(command, "graceful-timeout"))
    assert graceful < 30, "a graceful stop must finish before Render's 30 s SIGKILL"
    keep_alive = int(_flag(command, "keep-alive"))
    assert keep_alive > 60, "keep-alive must outlast the proxy's idle timeout"


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_deprecated_uvicorn_worker_appears_nowhere(rendered, name: str) -> None:
    project: Project = rendered(name)
    for relpath in project.files():
        assert "uvicorn.workers" not in project.read(relpath), relpath


# ------------------------------------------------------------------ Render
@pytest.mark.parametrize("name", RENDER_SETS)
def test_render_yaml_passes_renders_schema(rendered, name: str) -> None:
    blueprint = yaml.safe_load(rendered(name).read("render.yaml"))
    jsonschema.validate(blueprint, RENDER_SCHEMA, cls=jsonschema.Draft202012Validator)


def test_render_schema_check_can_fail() -> None:
    """The schema really judges: the deprecated `env: python` is refused."""
    bad = {"services": [{"type": "web", "name": "x", "env": "python"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, RENDER_SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("name", RENDER_SETS)
def test_render_yaml_declares_backend_database_and_secrets(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    blueprint = yaml.safe_load(project.read("render.yaml"))
    backend, *others = blueprint["services"]
    assert backend["runtime"] == "python"
    assert backend["rootDir"] == "backend"
    assert backend["healthCheckPath"] == "/health"
    assert backend["buildCommand"] == "pip install -r requirements.txt"
    env = {v["key"]: v for v in backend["envVars"]}
    assert env["ENVIRONMENT"]["value"] == "production"
    assert env["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    (database,) = blueprint["databases"]
    assert env["DATABASE_URL"]["fromDatabase"] == {
        "name": database["name"],
        "property": "connectionString",
    }
    assert env["BACKEND_URL"]["value"] == answers["backend_url"]
    assert env["CORS_ORIGINS"]["value"] == answers["cors_origins"]
    asked_in_dashboard = [k for k, v in env.items() if v.get("sync") is False]
    assert asked_in_dashboard == answers["third_party_secrets"]
    assert not [v for v in env.values() if "value" in v and v["key"] in asked_in_dashboard]

    if answers["include_frontend"]:
        (frontend,) = others
        assert frontend["runtime"] == "static"
        assert f"--dart-define=BACKEND_URL={answers['backend_url']}" in frontend["buildCommand"]
        assert frontend["staticPublishPath"] == "build/web"
    else:
        assert others == []


# ------------------------------------------------------------------ Railway
@pytest.mark.parametrize("name", IAC_SETS)
def test_railway_ts_type_checks_against_the_pinned_sdk(rendered, name: str) -> None:
    project: Project = rendered(name)
    result = tsc(project.path / ".railway")
    assert result.returncode == 0, result.stdout + result.stderr


def test_railway_ts_type_check_can_fail(rendered, tmp_path: Path) -> None:
    """tsc really judges: a health-check timeout given as a string is refused."""
    railway = tmp_path / ".railway"
    shutil.copytree(rendered("railway-iac").path / ".railway", railway)
    source = railway / "railway.ts"
    source.write_text(
        source.read_text().replace('healthcheck: "/health",', 'healthcheckTimeout: "300",')
    )
    result = tsc(railway)
    assert result.returncode != 0
    assert "healthcheckTimeout" in result.stdout or "not assignable" in result.stdout


@pytest.mark.parametrize("name", IAC_SETS)
def test_railway_ts_declares_service_database_and_secrets(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    source = project.read(".railway/railway.ts")
    assert f'github("{answers["github_repository"]}", {{ rootDirectory: "backend" }})' in source
    assert 'healthcheck: "/health"' in source
    assert "DATABASE_URL: db.env.DATABASE_URL" in source
    assert 'ENVIRONMENT: "production"' in source
    preserved = re.findall(r"^\s*([A-Z][A-Z0-9_]*): preserve\(\),$", source, re.M)
    assert preserved == ["SECRET_KEY", *answers["third_party_secrets"]]
    assert not (project.path / "backend/railway.json").exists()


@pytest.mark.parametrize("name", JSON_SETS)
def test_railway_json_is_the_legacy_config(rendered, name: str) -> None:
    project: Project = rendered(name)
    config = json.loads(project.read("backend/railway.json"))
    assert config["build"] == {"builder": "RAILPACK"}
    deploy = config["deploy"]
    assert deploy["healthcheckPath"] == "/health"
    assert deploy["restartPolicyType"] == "ON_FAILURE"
    assert deploy["preDeployCommand"] == ["alembic upgrade head"]
    assert not (project.path / ".railway").exists()


@pytest.mark.parametrize("name", RAILWAY_SETS)
def test_railway_projects_have_a_procfile(rendered, name: str) -> None:
    lines = rendered(name).read("backend/Procfile").splitlines()
    assert len(lines) == 1 and lines[0].startswith("web: gunicorn ")


# ------------------------------------------------------------------ no platform
def test_no_platform_files_without_a_target(rendered) -> None:
    project: Project = rendered("none")
    for relpath in ("render.yaml", ".railway", "backend/Procfile", "backend/railway.json"):
        assert not (project.path / relpath).exists(), relpath
