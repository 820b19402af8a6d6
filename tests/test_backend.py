"""The generated backend: lint-clean for every answer set; for the answer sets that shape
it, its own suite passes on SQLite and Postgres, and the service starts with the
platforms' exact command, answers over HTTP, and refuses a bare production start."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from answer_sets import ANSWER_SETS
from backend_env import backend_env, children, free_port, postgres_database, start_command
from conftest import Project
from linters import ruff

# All integrations; none; AI alone; one sign-in provider without AI.
SUITE_SETS = ["default", "no-integrations", "ai-only", "google-only"]
STARTUP_SECONDS = 60


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_generated_python_is_lint_clean(rendered: Callable[[str], Project], name: str) -> None:
    project = rendered(name)
    assert ruff(project.path) == ""
    for path in (project.path / "backend").rglob("*.py"):
        text = path.read_text()
        assert "{{" not in text and "{%" not in text, path


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


class Service:
    """A generated backend started with the platform's start command, in its own
    process group so that the test can stop it and every worker it forked."""

    def __init__(self, python: Path, project: Project, log: Path, **variables: str) -> None:
        self.port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            ["sh", "-c", start_command(project.path)],
            cwd=project.path / "backend",
            env=backend_env(python, PORT=str(self.port), **variables),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"no answer on /health within {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def master(self) -> int:
        """Gunicorn's master: the shell's child, or the shell itself if it exec'd gunicorn."""
        masters = [pid for pid in children(self.process.pid) if "gunicorn" in _cmdline(pid)]
        return masters[0] if masters else self.process.pid

    def workers(self) -> list[int]:
        return children(self.master())

    def stop(self) -> int:
        """SIGTERM to the master, as a platform stops it; the shell exits with its status."""
        if self.process.poll() is None:
            os.kill(self.master(), signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def service(python: Path, project: Project, tmp_path: Path, **variables: str) -> Iterator[Service]:
    running = Service(python, project, tmp_path / "service.log", **variables)
    try:
        running.wait_until_healthy()
        yield running
    finally:
        running.stop()


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def read_chunks(port: int, path: str, body: dict) -> list[bytes]:
    """POST over a raw socket and return the chunks of the chunked response as they came
    off the wire: a server that buffered the stream would send fewer, larger chunks."""
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        stream = connection.makefile("rb")
        status = stream.readline()
        assert b" 200 " in status, status
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        assert headers["content-type"].startswith("text/event-stream")
        assert headers.get("transfer-encoding") == "chunked"
        chunks = []
        while size := int(stream.readline().split(b";")[0], 16):
            chunks.append(stream.read(size))
            stream.readline()
        return chunks


@pytest.mark.slow
def test_the_service_starts_with_the_platform_command(
    backend_python: Path, render: Callable[..., Project], tmp_path: Path
) -> None:
    project = render({**ANSWER_SETS["default"], "workers": 2})
    with (
        postgres_database(backend_python) as database_url,
        service(backend_python, project, tmp_path, DATABASE_URL=database_url) as running,
    ):
        assert get_json(f"{running.url}/health") == (200, {"status": "ok"})
        assert get_json(f"{running.url}/health/ready") == (200, {"status": "ok", "database": "ok"})
        status, body = get_json(f"{running.url}/api/me")
        assert status == 401
        workers = running.workers()
        assert len(workers) == 2, running.log.read_text()
        rss = {pid: _rss_kib(pid) for pid in workers}
        print(f"gunicorn worker RSS after start-up (KiB): {rss}")
    log = running.log.read_text()
    assert "uvicorn.workers" not in log
    # One access-log line per request: the ready check and the /api/me call once each.
    assert log.count('"GET /health/ready HTTP/1.1" 200') == 1
    assert log.count('"GET /api/me HTTP/1.1" 401') == 1
    assert running.process.returncode == 0, log


@pytest.mark.slow
def test_a_chat_stream_arrives_event_by_event(
    backend_python: Path, render: Callable[..., Project], tmp_path: Path
) -> None:
    project = render({**ANSWER_SETS["ai-only"], "workers": 2})
    with service(backend_python, project, tmp_path) as running:
        chunks = read_chunks(running.port, "/api/chat/stream", {"message": "hello there"})
    events = [chunk.decode() for chunk in chunks if not chunk.startswith(b":")]
    names = [event.split("\r\n", 1)[0].removeprefix("event: ") for event in events]
    assert names[0] == "start" and names[-1] == "done"
    assert names[1:-1] == ["delta"] * (len(names) - 2) and len(names) > 4
    text = "".join(json.loads(event.split("data: ", 1)[1])["text"] for event in events[1:-1])
    assert text.endswith("You said: hello there")


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


def refused_start(python: Path, project: Project, **variables: str) -> str:
    """Start the service as a platform would, with no backend/.env (a deployed service has
    none); it must exit by itself. Its output."""
    (project.path / "backend/.env").unlink(missing_ok=True)
    process = subprocess.Popen(
        ["sh", "-c", start_command(project.path)],
        cwd=project.path / "backend",
        env=backend_env(python, PORT=str(free_port()), **variables),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=STARTUP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running after {STARTUP_SECONDS} s: {process.communicate()[0]}")
    assert process.returncode != 0, output
    assert "Traceback" not in output, output
    return output


@pytest.mark.slow
@pytest.mark.parametrize("name", ["extra-secrets", "no-integrations"])
def test_production_with_nothing_set_exits_naming_every_missing_variable(
    backend_python: Path, render: Callable[..., Project], name: str
) -> None:
    project = render(ANSWER_SETS[name])
    output = refused_start(backend_python, project, ENVIRONMENT="production")
    for variable in project.answers["required_in_production"]:
        assert variable in output


@pytest.mark.slow
@pytest.mark.parametrize(
    "variables",
    [{}, {"RENDER": "true", "ENVIRONMENT": "development"}, {"RAILWAY_ENVIRONMENT": "production"}],
    ids=["unset", "development-on-render", "unset-on-railway"],
)
def test_gunicorn_refuses_to_guess_the_environment(
    backend_python: Path, rendered: Callable[[str], Project], tmp_path: Path, variables: dict
) -> None:
    """Unset, ENVIRONMENT would mean development: docs on, any Host, a guessable key."""
    project = rendered("default")
    copy = Project(tmp_path / "project", project.answers)
    shutil.copytree(project.path, copy.path)
    output = refused_start(backend_python, copy, **variables)
    assert "ENVIRONMENT:" in output
    assert "SECRET_KEY" not in output  # not judged as production: the one problem named
