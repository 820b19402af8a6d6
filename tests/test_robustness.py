"""Robustness: bad answers are refused before anything is written, no secret reaches a
file that git would commit, and the generated service survives bad requests, a killed
worker, a stop during open streams and a database outage."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import copier
import hypothesis
import pytest
import schemathesis
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from answer_sets import ANSWER_SETS
from backend_env import backend_env, postgres_database
from conftest import Project
from gunicorn_service import Service, free_port, get, loopback_args

# (answers, text the refusal must contain). Each names the question or the rule it broke.
BAD_ANSWERS: dict[str, tuple[dict, str]] = {
    "project_name empty": ({"project_name": ""}, "project_name must not be empty"),
    "project_name blank": ({"project_name": "   "}, "project_name must not be empty"),
    "project_name two lines": ({"project_name": "Acme\nDesk"}, "project_name must be one line"),
    "description two lines": ({"description": "One.\nevil: true"}, "description must be one"),
    "project_slug upper-case": ({"project_slug": "Acme"}, "3-40 of a-z 0-9 -"),
    "project_slug starts with digit": ({"project_slug": "1acme"}, "3-40 of a-z 0-9 -"),
    "project_slug too short": ({"project_slug": "ab"}, "3-40 of a-z 0-9 -"),
    "project_slug too long": ({"project_slug": "a" * 41}, "3-40 of a-z 0-9 -"),
    "project_slug ends with hyphen": ({"project_slug": "acme-"}, "3-40 of a-z 0-9 -"),
    "project_slug underscore": ({"project_slug": "acme_desk"}, "3-40 of a-z 0-9 -"),
    "project_slug space": ({"project_slug": "acme desk"}, "3-40 of a-z 0-9 -"),
    "project_slug trailing newline": ({"project_slug": "acme\n"}, "3-40 of a-z 0-9 -"),
    "github_repository no owner": ({"github_repository": "desk"}, "must be owner/name"),
    "github_repository empty name": ({"github_repository": "acme/"}, "must be owner/name"),
    "github_repository three parts": ({"github_repository": "a/b/c"}, "must be owner/name"),
    "github_repository bad owner": ({"github_repository": "-acme/desk"}, "github_repository"),
    "github_repository url": (
        {"github_repository": "https://github.com/acme/desk"},
        "must be owner/name",
    ),
    "python_version too old": ({"python_version": "3.9"}, "Invalid choice for 'python_version'"),
    "python_version unknown": ({"python_version": "3.14"}, "Invalid choice for 'python_version'"),
    "deploy_target unknown": ({"deploy_target": "heroku"}, "Invalid choice for 'deploy_target'"),
    "deploy_target label": ({"deploy_target": "Railway"}, "Invalid choice for 'deploy_target'"),
    "workers 0": ({"workers": 0}, "must be between 1 and 32"),
    "workers negative": ({"workers": -1}, "must be between 1 and 32"),
    "workers 33": ({"workers": 33}, "must be between 1 and 32"),
    # Copier casts to int before any validator runs, so its own message names the value.
    "workers not a number": ({"workers": "abc"}, "invalid literal for int() with base 10: 'abc'"),
    "timeout 29": ({"timeout": 29}, "must be 30 to 900 seconds"),
    "timeout 901": ({"timeout": 901}, "must be 30 to 900 seconds"),
    "timeout not a number": ({"timeout": "2m"}, "invalid literal for int() with base 10: '2m'"),
    "integrations unknown": ({"integrations": ["slack"]}, "Invalid choice for 'integrations'"),
    "integrations one unknown": (
        {"integrations": ["anthropic", "slack"]},
        "Invalid choice for 'integrations'",
    ),
    "integrations not a list": ({"integrations": "anthropic"}, "Not a YAML list"),
    "extra_secrets a string": ({"extra_secrets": "STRIPE_API_KEY"}, "need a YAML list"),
    "extra_secrets a mapping": ({"extra_secrets": {"STRIPE": "x"}}, "need a YAML list"),
    "extra_secrets null": ({"extra_secrets": None}, "need a YAML list"),
    "extra_secrets lower-case": ({"extra_secrets": ["stripe_key"]}, "use A-Z 0-9 _"),
    "extra_secrets leading digit": ({"extra_secrets": ["1KEY"]}, "use A-Z 0-9 _"),
    "extra_secrets hyphen": ({"extra_secrets": ["STRIPE-KEY"]}, "use A-Z 0-9 _"),
    "extra_secrets not a name": ({"extra_secrets": [1]}, "use A-Z 0-9 _"),
    "extra_secrets trailing newline": ({"extra_secrets": ["KEY\n"]}, "use A-Z 0-9 _"),
    "extra_secrets duplicate": ({"extra_secrets": ["KEY", "KEY"]}, '"KEY" is listed twice'),
    "extra_secrets SECRET_KEY": ({"extra_secrets": ["SECRET_KEY"]}, "is built in"),
    "extra_secrets DATABASE_URL": ({"extra_secrets": ["DATABASE_URL"]}, "is built in"),
    "extra_secrets PORT": ({"extra_secrets": ["PORT"]}, "is built in"),
    "extra_secrets an integration's": (
        {"extra_secrets": ["ANTHROPIC_API_KEY"]},
        "is built in",
    ),
    "backend_url http": ({"backend_url": "http://api.example.com"}, "need https://host"),
    "backend_url path": ({"backend_url": "https://api.example.com/v1"}, "need https://host"),
    "backend_url slash": ({"backend_url": "https://api.example.com/"}, "need https://host"),
    "backend_url no scheme": ({"backend_url": "api.example.com"}, "need https://host"),
    "backend_url empty": ({"backend_url": ""}, "need https://host"),
    "backend_url newline": ({"backend_url": "https://api.example.com\n"}, "need https://host"),
    "cors_origins http": ({"cors_origins": "http://app.example.com"}, "need https://host"),
    "cors_origins one http": (
        {"cors_origins": "https://app.example.com,http://admin.example.com"},
        "need https://host, no path",
    ),
    "cors_origins path": ({"cors_origins": "https://app.example.com/app"}, "need https://host"),
    "cors_origins wildcard": ({"cors_origins": "*"}, "need https://host"),
    "cors_origins empty": ({"cors_origins": ""}, "need https://host"),
    "cors_origins trailing comma": ({"cors_origins": "https://a.example.com,"}, "cors_origins"),
    "cors_origins newline": ({"cors_origins": "https://a.example.com\n"}, "need https://host"),
}


@pytest.mark.parametrize("case", BAD_ANSWERS)
def test_bad_answer_is_refused_before_anything_is_written(
    case: str, template_dir: Path, tmp_path: Path
) -> None:
    answers, message = BAD_ANSWERS[case]
    dst = tmp_path / "project"
    with pytest.raises((ValueError, TypeError)) as refusal:
        copier.run_copy(
            str(template_dir), str(dst), data=answers, defaults=True, unsafe=False, quiet=True
        )
    assert message in str(refusal.value)
    assert not dst.exists()


def test_valid_edge_values_are_accepted(render) -> None:
    """The bounds themselves are valid: the refusals above are not a blanket no."""
    project = render(
        {
            "project_slug": "abc",
            "workers": 32,
            "timeout": 30,
            "extra_secrets": ["A", "B_2"],
            "backend_url": "https://api.example.com:8443",
            "cors_origins": "https://a.example.com, https://b.example.com",
        }
    )
    assert project.answers["workers"] == 32
    assert project.answers["third_party_secrets"][-2:] == ["A", "B_2"]


def test_template_needs_no_trust(template_dir: Path) -> None:
    """No tasks, migrations or Jinja extensions: plain `copier copy` never asks for --trust."""
    with pytest.warns(DeprecationWarning):
        template = copier.Template(url=str(template_dir))
    assert template.tasks == []
    assert template.jinja_extensions == ()
    assert not {"migrations", "tasks", "jinja_extensions"} & set(template.config_data)


# --------------------------------------------------------------------------- secrets


def committable_files(project: Path, git_dir: Path) -> list[Path]:
    """Every file `git add -A` would take, read through a git dir kept outside the
    project so the shared rendered project stays untouched."""
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    listed = subprocess.run(
        [
            "git",
            f"--git-dir={git_dir}",
            f"--work-tree={project}",
            "ls-files",
            "--others",
            "--cached",
            "--exclude-standard",
            "-z",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [project / name for name in listed.split("\0") if name]


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_no_secret_in_committable_files(name: str, rendered, tmp_path: Path) -> None:
    project = rendered(name)
    files = committable_files(project.path, tmp_path / "git")
    relpaths = {f.relative_to(project.path).as_posix() for f in files}
    assert ".copier-answers.yml" in relpaths
    assert "backend/.env" not in relpaths, "backend/.env must be git-ignored"

    env = dict(
        line.split("=", 1)
        for line in project.read("backend/.env").splitlines()
        if "=" in line and not line.startswith("#")
    )
    secret_key = env["SECRET_KEY"]
    assert len(secret_key) >= 64
    leaks = [f for f in files if secret_key in f.read_text(errors="replace")]
    assert leaks == []

    secrets = SecretsCollection()
    with default_settings():
        secrets.scan_files(*map(str, files), num_processors=1)
    assert secrets.json() == {}


def test_secret_scan_finds_a_planted_key(tmp_path: Path) -> None:
    """The scanner, as configured above, does see a real-looking secret."""
    planted = tmp_path / "settings.py"
    planted.write_text('AWS_SECRET = "AKIAIOSFODNN7EXAMPLE"\nSECRET_KEY = "f7c1a9e0b3d2"\n')
    secrets = SecretsCollection()
    with default_settings():
        secrets.scan_files(str(planted), num_processors=1)
    assert str(planted) in secrets.json()


# --------------------------------------------------------------------------- the service
# The generated backend under its own start command (Gunicorn, 2 uvicorn workers), on
# loopback, hit the way clients and platforms hit it.

CHAT_ONLY = {"integrations": ["anthropic"], "workers": 2}


@pytest.fixture(scope="module")
def chat_project(render) -> Project:
    """Chat without sign-in, so streams need no token; the offline provider answers."""
    return render(CHAT_ONLY)


@pytest.fixture(scope="module")
def signin_project(render) -> Project:
    return render({"workers": 2})


def start(project: Project, python: Path, workdir: Path, **variables: str) -> Service:
    env = backend_env(python, **variables)
    backend = project.path / "backend"
    return Service(backend, project.answers["start_command"], python, workdir, env=env).start(2)


def chat_request(port: int, words: int) -> bytes:
    body = json.dumps({"message": " ".join(["word"] * words), "conversation_id": None})
    return (
        f"POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


class ChatStream(threading.Thread):
    """One chat stream on a raw socket: records the SSE event names as they arrive."""

    def __init__(self, port: int, words: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.words = words
        self.events: list[str] = []
        self.started = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
                sock.sendall(chat_request(self.port, self.words))
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
                    self.events = re.findall(rb"^event: (\w+)", received, re.MULTILINE)
                    self.events = [name.decode() for name in self.events]
                    if self.events:
                        self.started.set()
        except OSError as exc:
            self.error = exc
        finally:
            self.started.set()


class SteadyLoad(threading.Thread):
    """GET /health in a loop on keep-alive connections; logs (time, ok) for each try."""

    def __init__(self, port: int, connections: int = 4) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.connections = connections
        self.results: list[tuple[float, bool]] = []
        self.stop = threading.Event()

    def _client(self) -> None:
        connection = None
        while not self.stop.is_set():
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/health")
                response = connection.getresponse()
                response.read()
                self.results.append((time.monotonic(), response.status == 200))
            except (OSError, http.client.HTTPException):
                self.results.append((time.monotonic(), False))
                if connection is not None:
                    connection.close()
                connection = None
                time.sleep(0.02)
        if connection is not None:
            connection.close()

    def run(self) -> None:
        clients = [threading.Thread(target=self._client) for _ in range(self.connections)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_service_keeps_answering(
    chat_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    with start(chat_project, backend_python, tmp_path) as service:
        load = SteadyLoad(service.port)
        load.start()
        time.sleep(2)
        victim, survivor = service.worker_pids()
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        deadline = killed_at + 60
        while time.monotonic() < deadline:
            workers = service.worker_pids()
            if len(workers) == 2 and victim not in workers:
                break
            time.sleep(0.1)
        replacement = (set(service.worker_pids()) - {survivor}).pop()
        service.wait_ready(workers=2)  # the replacement has started its app
        time.sleep(2)
        load.stop.set()
        load.join()

        assert victim not in service.worker_pids() and replacement != victim
        assert service.process.poll() is None, "the master must survive a worker's death"
        after = [ok for at, ok in load.results if at > killed_at]
        # Only requests in flight on the killed worker may fail; every later second answers.
        assert after.count(False) <= load.connections
        for second in range(int(time.monotonic() - killed_at) - 1):
            window = [
                ok for at, ok in load.results if killed_at + second <= at < killed_at + second + 1
            ]
            assert any(window), f"no answer in second {second} after the kill"
        assert all(ok for at, ok in load.results[-20:])


@pytest.mark.slow
def test_sigterm_lets_open_streams_finish_then_exits_0(
    chat_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    service = start(chat_project, backend_python, tmp_path)
    with service:
        # ~300 words at the offline provider's 10 ms each: streams of 3 s or more,
        # well inside the 25 s graceful timeout.
        streams = [ChatStream(service.port, words=300) for _ in range(20)]
        for stream in streams:
            stream.start()
        for stream in streams:
            assert stream.started.wait(30) and stream.events[:1] == ["start"], stream.error
        assert all("done" not in stream.events for stream in streams), "streams too short"

        service.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", service.port), 2):
            pass  # the listening socket is closed: no new connections

        exit_code = service.process.wait(timeout=25 + 10)
        for stream in streams:
            stream.join(5)
        assert [s.events[-1] for s in streams if s.events[-1:] != ["done"]] == []
        assert exit_code == 0, service.log()


@pytest.mark.slow
def test_two_workers_hold_100_concurrent_streams(
    chat_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    with start(chat_project, backend_python, tmp_path) as service:
        streams = [ChatStream(service.port, words=100) for _ in range(100)]
        for stream in streams:
            stream.start()
        for stream in streams:
            stream.join(90)
    assert [s.error for s in streams if s.error] == []
    assert sum(s.events[:1] == ["start"] and s.events[-1:] == ["done"] for s in streams) == 100


class TcpProxy:
    """A loopback TCP proxy in front of Postgres that can cut and restore access."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        """Stop listening and reset every open connection, as a dead database would."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self.connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.connections += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)


def poll(url: str, status: int, timeout: float = 20) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        answer = get(url)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


@pytest.mark.slow
def test_database_outage_fails_readiness_not_liveness_and_recovers(
    chat_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.open()
    with postgres_database(backend_python) as url:
        database_url = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        try:
            with start(
                chat_project, backend_python, tmp_path, DATABASE_URL=database_url
            ) as service:
                assert get(service.url + "/health/ready")[0] == 200

                proxy.close()
                status, body = poll(service.url + "/health/ready", 503)
                assert status == 503
                assert json.loads(body)["status"] == "unavailable"
                assert b"Traceback" not in body
                assert get(service.url + "/health") == (200, b'{"status":"ok"}')

                proxy.open()
                status, body = poll(service.url + "/health/ready", 200)
                assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
        finally:
            proxy.close()


@pytest.mark.slow
def test_production_refuses_a_placeholder_secret_key(
    signin_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    """Everything production needs is set, only SECRET_KEY is a placeholder."""
    variables = {
        name: "set-by-the-platform" for name in signin_project.answers["required_in_production"]
    }
    variables |= {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "SECRET_KEY": "changeme",
        "PORT": str(port := free_port()),
        "GUNICORN_CMD_ARGS": loopback_args(port),
    }
    result = subprocess.run(
        ["sh", "-c", f"exec {signin_project.answers['start_command']}"],
        cwd=signin_project.path / "backend",
        env=backend_env(backend_python, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "SECRET_KEY" in output
    assert "DATABASE_URL" not in output.split("placeholder settings:")[-1].split(".")[0]


@pytest.mark.slow
@pytest.mark.parametrize("answers", ["chat-only", "sign-in"])
def test_schemathesis_finds_no_server_error_nor_stack_trace(
    answers: str,
    chat_project: Project,
    signin_project: Project,
    backend_python: Path,
    tmp_path: Path,
) -> None:
    project = chat_project if answers == "chat-only" else signin_project
    failures: list[str] = []
    statuses: set[int] = set()
    with start(project, backend_python, tmp_path) as service:
        schema = schemathesis.openapi.from_url(service.url + "/openapi.json")
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            # Valid requests and, just as many, requests the schema says are invalid.
            cases = hypothesis.strategies.one_of(
                operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
            )

            @hypothesis.given(case=cases)
            @hypothesis.settings(
                max_examples=30,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                suppress_health_check=list(hypothesis.HealthCheck),
            )
            def check(case) -> None:
                response = case.call(base_url=service.url, timeout=60, allow_redirects=False)
                statuses.add(response.status_code)
                if response.status_code >= 500 or b"Traceback" in response.content:
                    failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

            check()
            operations += 1
    assert failures == [], service.log()[-3000:]
    # It did reach the API, with bodies and parameters the API refuses.
    assert operations >= 3
    assert 422 in statuses, statuses
