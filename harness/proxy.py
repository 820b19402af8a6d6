"""A real reverse proxy in front of several instances of a generated backend: HAProxy from
the system packages, round-robin with health checks on /health, as the platforms' edges
balance a service's instances. Used by tests/test_scaling.py and bench/scaling.py."""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.service import free_port

# Which instance answered: the proxy names the server in every response.
SERVED_BY = "x-served-by"

CONFIG = """\
global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    # A request whose instance refuses the connection (stopped, killed) is sent again,
    # to another instance: what a platform's edge does while an instance goes away.
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response

frontend web
    bind 127.0.0.1:{port}
    default_backend instances

frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats

backend instances
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    # Out after 2 failed checks 300 ms apart, back after 1 good one.
    default-server check inter 300ms fall 2 rise 1
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    set_cookies: list[str] = field(default_factory=list)

    @property
    def served_by(self) -> str:
        return self.headers.get(SERVED_BY, "")

    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict), data
        return data


def call(
    port: int,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One request on a fresh connection (so the proxy balances each one), read to the end.
    Redirects are answers, not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Connection": "close", **(headers or {})}
        if payload is not None:
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            data,
            response.headers.get_all("Set-Cookie") or [],
        )
    finally:
        connection.close()


def sse_events(body: bytes) -> list[tuple[str, dict[str, object]]]:
    """(name, data) of each event in an SSE body; comments (heartbeats) left out."""
    events = []
    for block in body.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = None, ""
        for line in block.decode().split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
        if name is not None:
            events.append((name, json.loads(data) if data else {}))
    return events


class HAProxy:
    """HAProxy on a loopback port in front of `backends` ((name, port) pairs)."""

    def __init__(self, backends: Sequence[tuple[str, int]], workdir: Path) -> None:
        executable = shutil.which("haproxy") or "/usr/sbin/haproxy"
        # No skip: the scaling tests must run. `.ci/run` installs it.
        assert Path(executable).exists(), "haproxy is not installed: apt-get install haproxy"
        self.executable = executable
        self.port = free_port()
        self.stats_port = free_port()
        servers = "\n".join(f"    server {name} 127.0.0.1:{port}" for name, port in backends)
        self.config = workdir / "haproxy.cfg"
        self.config.write_text(
            CONFIG.format(port=self.port, stats_port=self.stats_port, servers=servers)
        )
        self.log_path = workdir / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> HAProxy:
        check = subprocess.run(
            [self.executable, "-c", "-f", str(self.config)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        log = self.log_path.open("ab")
        # -db: stay in the foreground, so the test owns the process.
        self.process = subprocess.Popen(
            [self.executable, "-db", "-f", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return self
            time.sleep(0.1)
        raise TimeoutError("haproxy did not listen")

    def status(self) -> dict[str, str]:
        """Each server's state as the health checks see it: UP, DOWN, ..."""
        reply = call(self.stats_port, "GET", "/stats;csv")
        rows = csv.DictReader(io.StringIO(reply.body.decode().lstrip("# ")))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "instances" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_for(self, server: str, state: str, timeout: float = 30) -> float:
        """Until the health checks report `server` in `state`; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.status().get(server) == state:
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"{server} not {state} after {timeout} s: {self.status()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> HAProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
