"""Deploy files: valid for their platform, and all carrying the same decisions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from harness.answer_sets import ANSWER_SETS
from harness.project import SHARED, Project
from harness.service import free_port, get
from node_tools import tsc

RENDER_SCHEMA = json.loads((SHARED / "schemas" / "render.schema.json").read_text())


def _render_sets(want) -> list[str]:
    return [n for n, a in ANSWER_SETS.items() if want(a.get("deploy_target", "both"), a)]


RENDER_SETS = _render_sets(lambda target, a: target in ("render", "both"))
RAILWAY_SETS = _render_sets(lambda target, a: target in ("railway", "both"))
GUNICORN_SETS = ["default", "both-urls", "extra-secrets"]


def start_commands(project: Project) -> dict[str, str]:
    """Every place a generated project states the start command, by file."""
    found = {}
    (line,) = project.read("backend/Procfile").splitlines()
    found["backend/Procfile"] = line.removeprefix("web: ")
    if (project.path / "render.yaml").exists():
        backend = yaml.safe_load(project.read("render.yaml"))["services"][0]
        found["render.yaml"] = backend["startCommand"]
    if (project.path / ".railway/railway.ts").exists():
        (start,) = re.findall(r'^\s*start: "(.*)",$', project.read(".railway/railway.ts"), re.M)
        found[".railway/railway.ts"] = json.loads(f'"{start}"')
    return found


def gunicorn_settings(backend: Path, python: Path, **env: str) -> dict[str, str]:
    """The settings Gunicorn itself resolves for `gunicorn main:app` in `backend`, from
    gunicorn.conf.py and the environment (`gunicorn --print-config`)."""
    variables = {k: v for k, v in os.environ.items() if k not in ("PORT", "WEB_CONCURRENCY")}
    result = subprocess.run(
        [str(python.parent / "gunicorn"), "main:app", "--print-config"],
        cwd=backend,
        env={**variables, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pairs = (line.split(" = ", 1) for line in result.stdout.splitlines() if " = " in line)
    return {name.strip(): value.strip() for name, value in pairs}


# ------------------------------------------------------------------ start command
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_start_command_is_identical_everywhere(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    commands = start_commands(project)
    platforms = {"railway": 2, "render": 2, "both": 3, "none": 1}[answers["deploy_target"]]
    assert len(commands) == platforms, commands
    assert set(commands.values()) == {"gunicorn main:app"} == {answers["start_command"]}
    assert f"\n{answers['start_command']}\n" in project.read("README.md")


@pytest.mark.parametrize("name", GUNICORN_SETS)
def test_gunicorn_reads_every_setting_from_its_config(
    rendered, backend_python: Path, name: str
) -> None:
    project: Project = rendered(name)
    answers = project.answers
    settings = gunicorn_settings(project.path / "backend", backend_python, PORT="10000")
    assert settings["workers"] == str(answers["workers"])
    assert settings["timeout"] == str(answers["timeout"])
    assert settings["worker_class"] == "app.server.Worker"  # a UvicornWorker, bounded
    assert settings["bind"] == "['0.0.0.0:10000']"
    assert int(settings["graceful_timeout"]) < 30, "must finish before Render's 30 s SIGKILL"
    assert int(settings["keepalive"]) > 60, "must outlast the proxy's idle timeout"
    assert settings["forwarded_allow_ips"] == "['*']"
    assert settings["accesslog"] == "-"
    assert settings["preload_app"] == "True"


def test_web_concurrency_overrides_the_answered_workers(rendered, backend_python: Path) -> None:
    backend = rendered("default").path / "backend"
    assert gunicorn_settings(backend, backend_python, WEB_CONCURRENCY="7")["workers"] == "7"
    assert gunicorn_settings(backend, backend_python)["workers"] == "4"
    assert gunicorn_settings(backend, backend_python)["bind"] == "['0.0.0.0:8000']"


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
    asked_in_dashboard = [k for k, v in env.items() if v.get("sync") is False]
    assert asked_in_dashboard == answers["third_party_secrets"]
    assert not [v for v in env.values() if "value" in v and v["key"] in asked_in_dashboard]
    assert database["postgresMajorVersion"] == answers["postgres_major"]

    if answers["include_frontend"]:
        assert env["CORS_ORIGINS"]["value"] == answers["cors_origins"]
    else:
        assert "CORS_ORIGINS" not in env, "no app, so no origin to allow"
    if answers["include_frontend"] and "web" in answers["flutter_platforms"]:
        (frontend,) = others
        assert frontend["runtime"] == "static"
        assert f"--dart-define=BACKEND_URL={answers['backend_url']}" in frontend["buildCommand"]
        assert frontend["staticPublishPath"] == "build/web"
    else:
        assert others == [], "no web app to serve"


@pytest.mark.parametrize("name", RENDER_SETS)
def test_render_runs_the_answered_instances(rendered, name: str) -> None:
    answers = rendered(name).answers
    (backend, *_) = yaml.safe_load(rendered(name).read("render.yaml"))["services"]
    if answers["max_instances"] > answers["instances"]:
        assert "numInstances" not in backend, "Render lets autoscaling win; say one thing"
        assert backend["scaling"] == {
            "minInstances": answers["instances"],
            "maxInstances": answers["max_instances"],
            "targetCPUPercent": 70,
        }
    else:
        assert "scaling" not in backend
        assert backend["numInstances"] == answers["instances"]


def test_render_autoscaling_is_schema_checked(rendered) -> None:
    """The schema judges the scaling block too: a CPU target over 90 % is refused."""
    blueprint = yaml.safe_load(rendered("render-autoscaling").read("render.yaml"))
    jsonschema.validate(blueprint, RENDER_SCHEMA, cls=jsonschema.Draft202012Validator)
    blueprint["services"][0]["scaling"]["targetCPUPercent"] = 95
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(blueprint, RENDER_SCHEMA, cls=jsonschema.Draft202012Validator)


# ------------------------------------------------------------------ Railway
@pytest.mark.parametrize("name", RAILWAY_SETS)
def test_railway_ts_type_checks_against_the_locked_sdk(rendered, name: str) -> None:
    project: Project = rendered(name)
    result = tsc(project.path / ".railway")
    assert result.returncode == 0, result.stdout + result.stderr


def test_railway_ts_type_check_can_fail(rendered, tmp_path: Path) -> None:
    """tsc really judges: replicas given as a string are refused."""
    railway = tmp_path / ".railway"
    shutil.copytree(rendered("railway").path / ".railway", railway)
    source = railway / "railway.ts"
    source.write_text(source.read_text().replace("replicas: 3,", 'replicas: "3",'))
    result = tsc(railway)
    assert result.returncode != 0
    assert "replicas" in result.stdout or "not assignable" in result.stdout


def test_railway_lock_is_one_file_for_every_answer(rendered) -> None:
    """package.json and its lock carry nothing from the answers, so one lock (which
    Dependabot updates) is valid for every project."""
    locks = {
        (rendered(n).read(".railway/package.json"), rendered(n).read(".railway/package-lock.json"))
        for n in RAILWAY_SETS
    }
    assert len(locks) == 1
    package, lock = map(json.loads, locks.pop())
    # hooks/versions.yml's node_version (CI's setup-node, the README) is the lock's floor.
    node = f">={rendered('default').answers['node_version']}"
    assert package["engines"]["node"] == lock["packages"][""]["engines"]["node"] == node
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert lock["packages"]["node_modules/railway"]["engines"]["node"] == node


@pytest.mark.parametrize("name", RAILWAY_SETS)
def test_railway_ts_declares_service_database_and_secrets(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    source = project.read(".railway/railway.ts")
    assert f'github("{answers["github_repository"]}", {{ rootDirectory: "backend" }})' in source
    assert 'healthcheck: "/health"' in source
    assert "DATABASE_URL: db.env.DATABASE_URL" in source
    assert 'ENVIRONMENT: "production"' in source
    assert f"replicas: {answers['instances']}," in source
    preserved = re.findall(r"^\s*([A-Z][A-Z0-9_]*): preserve\(\),$", source, re.M)
    assert preserved == ["SECRET_KEY", *answers["third_party_secrets"]]
    assert not (project.path / "backend/railway.json").exists()


@pytest.mark.parametrize("name", RAILWAY_SETS)
def test_railway_names_its_own_urls_and_deploys_the_web_app(rendered, name: str) -> None:
    project: Project = rendered(name)
    answers = project.answers
    source = project.read(".railway/railway.ts")
    env = dict(re.findall(r'^\s*([A-Z_]+): "(.*)",$', source, re.M))
    assert env["BACKEND_URL"] == answers["railway_backend_url"]
    caddyfile = project.path / "frontend/Caddyfile"
    if answers["include_frontend"]:
        assert env["CORS_ORIGINS"] == answers["railway_origins"]
    if answers["include_frontend"] and "web" in answers["flutter_platforms"]:
        assert f'service("{answers["frontend_service"]}"' in source
        assert 'rootDirectory: "frontend"' in source
        build = "".join(re.findall(r"^\s*(?:build:|\+)?\s*'(.*)'", source, re.M))
        assert f"--branch {answers['flutter_version']} " in build
        assert f"--dart-define=BACKEND_URL={answers['railway_backend_url']}" in build
        assert env["RAILPACK_STATIC_FILE_ROOT"] == "build/web"
        assert "root * build/web" in caddyfile.read_text()
    else:
        assert "frontend" not in source.replace(f'"{answers["railway_origins"]}"', "")
        assert not caddyfile.exists()
    if not answers["include_frontend"]:
        assert "CORS_ORIGINS" not in env
    if answers["deploy_target"] == "both":
        render_env = {
            v["key"]: v.get("value")
            for v in yaml.safe_load(project.read("render.yaml"))["services"][0]["envVars"]
        }
        assert render_env["BACKEND_URL"] == answers["backend_url"] != env["BACKEND_URL"]


def test_railway_serves_the_web_build_as_a_single_page_app(rendered, tmp_path: Path) -> None:
    """frontend/Caddyfile under Caddy, as Railpack's static-site provider starts it: the
    build's files, every other path the app's index.html, and the health check."""
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed (.ci/run installs it: apt-get install caddy)"
    site = tmp_path / "frontend"
    (site / "build/web").mkdir(parents=True)
    (site / "build/web/index.html").write_text("<title>app</title>")
    (site / "build/web/main.dart.js").write_text("main();")
    caddyfile = rendered("default").read("frontend/Caddyfile")
    # Only the address changes, so nothing listens beyond loopback.
    (site / "Caddyfile").write_text(
        caddyfile.replace(":{$PORT:80} {", "http://127.0.0.1:{$PORT:80} {")
    )
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PORT": str(port)}
    command = [caddy, "run", "--config", "Caddyfile", "--adapter", "caddyfile"]
    with subprocess.Popen(
        command, cwd=site, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError):
                    if get(base + "/health", timeout=1)[0] == 200:
                        break
                time.sleep(0.1)
            assert get(base + "/health") == (200, b"")
            assert get(base + "/") == (200, b"<title>app</title>")
            assert get(base + "/chat/42") == (200, b"<title>app</title>")
            assert get(base + "/main.dart.js") == (200, b"main();")
        finally:
            server.terminate()


@pytest.mark.parametrize("name", ["default", "both-urls", "extra-secrets"])
def test_custom_urls_are_declared_as_each_platforms_domains(rendered, name: str) -> None:
    """A URL answer outside the platform's generated names is declared on that platform;
    a generated name (onrender.com, up.railway.app) is not."""
    project: Project = rendered(name)
    answers = project.answers
    host = lambda url: url.split(",")[0].strip().removeprefix("https://")  # noqa: E731
    backend, frontend = yaml.safe_load(project.read("render.yaml"))["services"]
    for service, url, own in (
        (backend, answers["backend_url"], ".onrender.com"),
        (frontend, answers["cors_origins"], ".onrender.com"),
    ):
        assert service.get("domains", []) == ([] if host(url).endswith(own) else [host(url)])
    source = project.read(".railway/railway.ts")
    declared = re.findall(r'^\s*domains: \["(.*)"\],$', source, re.M)
    expected = [
        host(url)
        for url in (answers["railway_backend_url"], answers["railway_origins"])
        if not host(url).endswith(".up.railway.app")
    ]
    assert declared == expected


# ------------------------------------------------------------------ every target
@pytest.mark.parametrize("name", ANSWER_SETS)
def test_every_project_has_a_procfile_and_no_legacy_railway_json(rendered, name: str) -> None:
    project: Project = rendered(name)
    assert project.read("backend/Procfile") == "web: gunicorn main:app\n"
    assert not (project.path / "backend/railway.json").exists()


def test_no_platform_files_without_a_target(rendered) -> None:
    project: Project = rendered("none")
    for relpath in ("render.yaml", ".railway", "frontend/Caddyfile"):
        assert not (project.path / relpath).exists(), relpath


# ------------------------------------------------------------------ each platform's hosts
HOST_CHECK = """
import json, os, sys
from starlette.testclient import TestClient
from main import create_app
client = TestClient(create_app(), base_url="https://" + sys.argv[1])
print(json.dumps({host: client.get("/health", headers={"Host": host}).status_code
                  for host in sys.argv[1:]}))
"""


def platform_env(project: Project, platform: str) -> dict[str, str]:
    """The plain variables a platform file sets for the backend."""
    if platform == "render":
        env_vars = yaml.safe_load(project.read("render.yaml"))["services"][0]["envVars"]
        return {v["key"]: v["value"] for v in env_vars if "value" in v} | {"RENDER": "true"}
    source = project.read(".railway/railway.ts")
    env = dict(re.findall(r'^\s{6}([A-Z_]+): "(.*)",$', source, re.M))
    return env | {"RAILWAY_ENVIRONMENT": "production"}


@pytest.mark.parametrize(
    ("name", "platform"),
    [("both-urls", "render"), ("both-urls", "railway"), ("default", "railway")],
)
def test_production_accepts_every_host_its_platform_uses(
    rendered, backend_python: Path, name: str, platform: str
) -> None:
    """Started with the variables that platform's file sets, the backend answers its own
    BACKEND_URL and the platform's health checker, and refuses every other name."""
    import secrets

    project: Project = rendered(name)
    answers = project.answers
    own = answers["backend_url" if platform == "render" else "railway_backend_url"]
    other = answers["railway_backend_url" if platform == "render" else "backend_url"]
    checker = {"render": f"{answers['backend_service']}.onrender.com"}.get(
        platform, "healthcheck.railway.app"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RENDER", "RAILWAY"))}
    env |= {name: f"live-{secrets.token_hex(16)}" for name in answers["required_in_production"]}
    env |= {
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        **platform_env(project, platform),
    }
    hosts = [own.removeprefix("https://"), checker, other.removeprefix("https://"), "evil.example"]
    result = subprocess.run(
        [str(backend_python), "-c", HOST_CHECK, *hosts],
        cwd=project.path / "backend",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    statuses = json.loads(result.stdout.splitlines()[-1])
    # PLATFORM_HOSTS holds both platforms' checkers, so with the default URLs the other
    # platform's onrender.com name passes too (it cannot reach this platform's edge).
    other_status = 200 if hosts[2] in answers["platform_hosts"] else 400
    assert statuses == {hosts[0]: 200, hosts[1]: 200, hosts[2]: other_status, hosts[3]: 400}


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_readme_names_only_what_the_project_has(rendered, name: str) -> None:
    """Render-only leftovers of issue 9: a table cell ending in a dangling `;`, and a
    description promising a Flutter app that was not generated."""
    project: Project = rendered(name)
    readme = project.read("README.md")
    assert not re.search(r"[;,]\s*\|$", readme, re.M)
    if not project.answers["include_frontend"]:
        assert "Flutter app" not in readme.split("\n## ")[0]
