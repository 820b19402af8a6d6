"""Run a generated backend the way production does: its own start command (Gunicorn
with uvicorn workers), on loopback, in its own process group. The one server harness of
the service tests and the benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    """Status and body; an HTTP error status is an answer too, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def children(pid: int) -> list[int]:
    """The processes whose parent is pid."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def loopback_args(port: int) -> str:
    """GUNICORN_CMD_ARGS that keep a generated backend on loopback."""
    return f"--bind 127.0.0.1:{port}"


class Service:
    """One Gunicorn master and its workers.

    `start_command` is the generated one (hooks' start_command, as in the Procfile), run
    as written; gunicorn.conf.py binds 0.0.0.0:$PORT, and GUNICORN_CMD_ARGS (which
    Gunicorn applies over the config file) moves that to loopback, so nothing listens
    beyond it. HOME is private so each master gets its own control socket."""

    def __init__(
        self,
        cwd: Path,
        start_command: str,
        python: Path,
        workdir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.cwd = cwd
        self.port = port or free_port()
        self.command = start_command
        self.home = workdir / f"home-{self.port}"
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        # `env` is the whole environment when given (tests pass backend_env()'s).
        self.env = {
            **(os.environ if env is None else env),
            "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
            "VIRTUAL_ENV": str(python.parent.parent),
            "HOME": str(self.home),
            "PORT": str(self.port),
            "GUNICORN_CMD_ARGS": loopback_args(self.port),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("PYTHONPATH", None)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "start() first"
        return self._process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int, timeout: float = 90) -> Service:
        """Start the master; return once `workers` workers serve. A service that never
        gets ready is stopped, workers and all, before the error is raised."""
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                ["sh", "-c", f"exec {self.command}"],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self.wait_ready(workers, timeout)
        except BaseException:
            self.__exit__()
            raise
        return self

    def wait_ready(self, workers: int, timeout: float = 90) -> None:
        """Until /health answers 200 and every worker has finished starting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.process.returncode}:\n{self.log()}")
            try:
                status, _ = get(self.url + "/health", timeout=2)
            except OSError:
                status = 0
            started = self.log().count("Application startup complete")
            if status == 200 and len(self.worker_pids()) == workers and started >= workers:
                return
            time.sleep(0.2)
        raise TimeoutError(f"not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return children(self.pid)

    @staticmethod
    def rss_mb(pid: int) -> float:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40) -> int:
        """Signal the master, as a platform stops it; wait for it; kill the group if it
        hangs. Its exit code."""
        if self._process is None:
            return 0
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.stop(timeout=30)
        # Workers orphaned by a killed master must not outlive the test.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


class PeakRss:
    """Each worker's peak resident memory (MB) while a load runs, sampled every `interval`
    seconds in a thread of its own: `with PeakRss(service) as rss: ...; rss.peak`."""

    def __init__(self, service: Service, interval: float = 0.1) -> None:
        self.service = service
        self.interval = interval
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.service.worker_pids():
                with contextlib.suppress(OSError):
                    self.peak[pid] = max(self.peak.get(pid, 0), Service.rss_mb(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
