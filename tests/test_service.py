"""The generated service, run as a platform runs it (its start command: Gunicorn with
uvicorn workers) on loopback: it answers over HTTP and streams event by event, refuses a
production start that lacks settings, and survives bad requests, a killed worker, a stop
during open streams and a database outage."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.core.result import Err

from harness.answer_sets import ANSWER_SETS
from harness.backend import HIGH_CHAT_LIMITS, backend_env, postgres_database, start_command
from harness.project import Project
from harness.service import Service, free_port, get, loopback_args

STARTUP_SECONDS = 60

CHAT_ONLY = {"integrations": ["anthropic"], "workers": 2}


@pytest.fixture(scope="module")
def chat_project(render) -> Project:
    """Chat without sign-in, so streams need no token; the offline provider answers."""
    return render(CHAT_ONLY)


@pytest.fixture(scope="module")
def signin_project(render) -> Project:
    return render({"workers": 2})


def start(project: Project, python: Path, workdir: Path, **variables: str) -> Service:
    """The backend under the command a platform reads (Procfile or render.yaml), 2 workers;
    its chat limits out of the way of loads from one address unless `variables` set them."""
    env = backend_env(python, **{**HIGH_CHAT_LIMITS, **variables})
    backend = project.path / "backend"
    return Service(backend, start_command(project.path), python, workdir, env=env).start(
        2, timeout=STARTUP_SECONDS
    )


def get_json(url: str) -> tuple[int, Any]:
    status, body = get(url, timeout=10)
    return status, json.loads(body)


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
    backend_python: Path, signin_project: Project, tmp_path: Path
) -> None:
    project = signin_project
    with (
        postgres_database(backend_python) as database_url,
        start(project, backend_python, tmp_path, DATABASE_URL=database_url) as running,
    ):
        assert get_json(f"{running.url}/health") == (200, {"status": "ok"})
        assert get_json(f"{running.url}/health/ready") == (200, {"status": "ok", "database": "ok"})
        status, body = get_json(f"{running.url}/api/me")
        assert status == 401
        workers = running.worker_pids()
        assert len(workers) == 2, running.log()
        rss = {pid: Service.rss_mb(pid) for pid in workers}
        print(f"gunicorn worker RSS after start-up (MB): {rss}")
    log = running.log()
    assert "uvicorn.workers" not in log
    # One access-log line per request: the ready check and the /api/me call once each.
    assert log.count('"GET /health/ready HTTP/1.1" 200') == 1
    assert log.count('"GET /api/me HTTP/1.1" 401') == 1
    assert running.process.returncode == 0, log


@pytest.mark.slow
def test_a_chat_stream_arrives_event_by_event(
    backend_python: Path, chat_project: Project, tmp_path: Path
) -> None:
    project = chat_project
    with start(project, backend_python, tmp_path) as running:
        chunks = read_chunks(running.port, "/api/chat/stream", {"message": "hello there"})
    events = [chunk.decode() for chunk in chunks if not chunk.startswith(b":")]
    names = [event.split("\r\n", 1)[0].removeprefix("event: ") for event in events]
    assert names[0] == "start" and names[-1] == "done"
    assert names[1:-1] == ["delta"] * (len(names) - 2) and len(names) > 4
    text = "".join(json.loads(event.split("data: ", 1)[1])["text"] for event in events[1:-1])
    assert text.endswith("You said: hello there")


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
                    names = re.findall(rb"^event: (\w+)", received, re.MULTILINE)
                    self.events = [name.decode() for name in names]
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
            if isinstance(result, Err):
                raise result.err()  # a schema the API serves that schemathesis cannot read
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
