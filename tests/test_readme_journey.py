"""The generated README's first hour, as written: its local-development commands, taken
from the README itself and run in a shell in the order a reader meets them (install,
start the server, sign in and stream a chat reply from a second terminal, run the tests,
make a migration). A README command that stops working fails this test.

The README marks those commands: `<!-- journey: ROLE -->` before a fenced block.
ROLE `server` is the first terminal with uv, whose last command keeps running; `server,
with pip` is the same with plain pip (the README's fallback, which one journey takes);
`client` runs in a second terminal meanwhile; `shell` runs in the first terminal once the
server is stopped (Ctrl-C); `shell, after a model change` follows a change to
app/models.py.

Everything runs in a network namespace of its own: port 8000 is free there whatever else
runs on this machine, and nothing reaches the network, so development is shown to work
offline, as on a machine with a warm package cache: uv's cache is warmed by a `uv sync`
of the same lock beforehand, pip's packages come from a wheelhouse built once per lock
(environment variables only, the commands stay as written)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from harness.answer_sets import ANSWER_SETS
from harness.backend import APP_VARIABLES, CACHE
from harness.project import Project
from harness.service import children

JOURNEY = re.compile(r"^<!-- journey: ([a-z ,]+) -->\n```sh\n(.*?)^```$", re.M | re.S)
# Every deploy target, and with them every second-terminal variant: sign in and stream
# (default), sign in and /api/me, stream without sign-in, the readiness check. Python is
# the one this machine has, as a reader answers python_version with theirs (offline, uv
# cannot fetch another).
MACHINE_PYTHON = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}"}
JOURNEYS = {
    "both": ANSWER_SETS["default"] | MACHINE_PYTHON,
    "railway": ANSWER_SETS["microsoft-only"] | MACHINE_PYTHON,
    "render": {"deploy_target": "render", "integrations": ["anthropic"]} | MACHINE_PYTHON,
    "none": ANSWER_SETS["none"] | MACHINE_PYTHON,
}
ROLES = ["server", "server, with pip", "client", "shell", "shell, after a model change"]
# uv as this test run installed it (the root pyproject.toml pins it).
UV = str(Path(sys.executable).with_name("uv"))
# The journey that installs with plain pip instead of uv.
WITH_PIP = "none"
STEP_SECONDS = 600
# What the test itself adds to app/models.py before "after a model change".
MODEL_CHANGE = '''

class Note(Base):
    """A table added by the README journey test."""

    __tablename__ = "notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(Text)
'''


def journey(readme: str) -> list[tuple[str, str]]:
    """(role, commands) of every marked block, in the README's order."""
    return [(role, commands) for role, commands in JOURNEY.findall(readme)]


def wheelhouse(backend: Path, python: str) -> Path:
    """Wheels for requirements.txt, the dev group and the newest pip, once per content."""
    requirements = (backend / "requirements.txt").read_text()
    dev = tomllib.loads((backend / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    digest = hashlib.sha256(f"{python}\n{requirements}\n{dev}".encode()).hexdigest()[:16]
    wheels = CACHE / f"wheelhouse-{digest}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{wheels.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (wheels / ".complete").exists():
            shutil.rmtree(wheels, ignore_errors=True)
            for packages in (["-r", "requirements.txt"], dev, ["pip"]):
                subprocess.run(
                    [python, "-m", "pip", "wheel", "-q", "-w", wheels, *packages],
                    cwd=backend,
                    check=True,
                    timeout=900,
                )
            (wheels / ".complete").touch()
    return wheels


def warm_uv_cache(backend: Path, tmp_path: Path) -> None:
    """What a machine that has synced this lock before has in uv's cache."""
    scratch = tmp_path / "warm-uv"
    shutil.copytree(backend, scratch)
    subprocess.run([UV, "sync", "--locked", "--quiet"], cwd=scratch, check=True, timeout=900)


def user_environment(wheels: Path, tmp_path: Path) -> dict[str, str]:
    """A new terminal's environment: none of this test run's virtualenv or app settings,
    uv on the PATH (alone, from this run's virtualenv), uv offline and pip pointed at
    the wheelhouse (the namespace has no network)."""
    venv = os.environ.get("VIRTUAL_ENV", "")
    path = [p for p in os.environ["PATH"].split(os.pathsep) if not (venv and p.startswith(venv))]
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "uv").symlink_to(UV)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in APP_VARIABLES
        and key not in ("VIRTUAL_ENV", "PYTHONPATH")
        and not key.startswith(("PYTEST_", "COV_"))
    }
    links = " ".join(filter(None, [str(wheels), os.environ.get("PIP_FIND_LINKS", "")]))
    return env | {
        "PATH": os.pathsep.join([str(tools), *path]),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": links,
        "UV_OFFLINE": "1",
    }


class Terminal:
    """The first terminal: one bash reading the reader's commands as they are typed."""

    def __init__(self, project: Path, env: dict[str, str], log: Path) -> None:
        self.project, self.env, self.log = project, env, log
        self.process = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", "ip link set lo up && exec bash -s"],
            cwd=project,
            env=env,
            stdin=subprocess.PIPE,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
        )
        self.typed = 0
        self.type("set -eo pipefail")

    @property
    def stdin(self) -> IO[str]:
        assert self.process.stdin is not None
        return self.process.stdin

    def type(self, commands: str) -> str:
        """Type the commands, then a line that says they are done; return that line."""
        self.typed += 1
        done = f"journey: step {self.typed} done"
        self.stdin.write(f"{commands}\necho '{done}'\n")
        self.stdin.flush()
        return done

    def wait_for(self, text: str, seconds: float = STEP_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"never saw {text!r}:\n{self.output()[-6000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def second_terminal(self, commands: str) -> subprocess.Popen[str]:
        """bash in a second terminal: the same machine, so the same network namespace."""
        return subprocess.Popen(
            ["nsenter", f"--net=/proc/{self.process.pid}/ns/net", "bash", "-eo", "pipefail"],
            cwd=self.project,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def interrupt(self) -> None:
        """Ctrl-C on the running command (bash, not interactive, then reads on)."""
        for child in children(self.process.pid):
            os.kill(child, signal.SIGINT)

    def close(self) -> int:
        if self.process.poll() is None:
            self.stdin.write("exit\n")
            self.stdin.close()
            try:
                self.process.wait(STEP_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@contextmanager
def first_terminal(project: Path, env: dict[str, str], log: Path) -> Iterator[Terminal]:
    terminal = Terminal(project, env, log)
    try:
        yield terminal
    finally:
        terminal.kill()


def run_client(terminal: Terminal, commands: str) -> tuple[str, float | None]:
    """The second terminal's output, and when its first chat delta arrived."""
    client = terminal.second_terminal(commands)
    assert client.stdin is not None and client.stdout is not None
    client.stdin.write(commands)
    client.stdin.close()
    lines, first_delta = [], None
    for line in client.stdout:
        if first_delta is None and line.startswith("event: delta"):
            first_delta = time.monotonic()
        lines.append(line)
    assert client.wait(STEP_SECONDS) == 0, "".join(lines)
    return "".join(lines), first_delta


DELTA_EVENT = re.compile(r"event: delta\r?\ndata: (.*?)\r?\n")


def streamed_text(output: str) -> str:
    """The reply, put together from the stream's delta events as curl printed them. The
    terminal also holds curl's progress meter (stderr, redrawn with carriage returns and
    no newline), which can run into the line an event starts on: an event is found
    wherever it starts, and an event's own lines arrive together."""
    return "".join(json.loads(data)["text"] for data in DELTA_EVENT.findall(output))


@pytest.mark.parametrize("name", ANSWER_SETS)
def test_every_readme_marks_its_journey(rendered: Callable[[str], Project], name: str) -> None:
    """What the journey runs is what the reader reads: four marked blocks, in order, the
    second-terminal one signing in where there is sign-in and streaming where there is chat."""
    project = rendered(name)
    steps = dict(journey(project.read("README.md")))
    assert list(steps) == ROLES
    assert "uv sync" in steps["server"] and "pip install" in steps["server, with pip"]
    client = steps["client"]
    assert ("/api/auth/dev-login" in client) == bool(project.answers["oauth_providers"])
    assert ("/api/chat/stream" in client) == project.answers["use_ai"]
    assert all(line.startswith(("TOKEN=", "curl ")) for line in client.splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("target", JOURNEYS)
def test_the_readme_commands_work_as_written(
    render: Callable[..., Project], tmp_path: Path, target: str
) -> None:
    started = time.monotonic()
    project = render(JOURNEYS[target])
    assert project.answers["deploy_target"] == target
    steps = journey(project.read("README.md"))
    assert [role for role, _ in steps] == ROLES
    answers = project.answers
    backend = project.path / "backend"
    lock = (backend / "uv.lock").read_text()
    if target == WITH_PIP:
        wheels = wheelhouse(backend, f"python{answers['python_version']}")
    else:
        wheels = tmp_path / "no-wheels"
        wheels.mkdir()
        warm_uv_cache(backend, tmp_path)
    env = user_environment(wheels, tmp_path)
    log = tmp_path / "terminal.log"

    with first_terminal(project.path, env, log) as terminal:
        (_, uv_server), (_, pip_server), (_, client), (_, tests), (_, migration) = steps
        server = pip_server if target == WITH_PIP else uv_server
        terminal.type(server)
        terminal.wait_for("Application startup complete.")
        serving = time.monotonic()
        output, first_delta = run_client(terminal, client)
        if answers["use_ai"]:
            assert first_delta is not None, output
            assert "event: start" in output and "event: done" in output, output
            assert streamed_text(output).endswith("You said: Hello"), output
            print(
                f"copier copy to the first streamed delta: {first_delta - started:.1f} s"
                f" (to the server's start: {serving - started:.1f} s)"
            )
        elif answers["oauth_providers"]:
            assert '"provider":"dev"' in output, output
        else:
            assert '"database":"ok"' in output, output
        terminal.interrupt()
        terminal.wait_for("journey: step 2 done")

        terminal.wait_for(terminal.type(tests))
        models = project.path / "backend/app/models.py"
        models.write_text(models.read_text() + MODEL_CHANGE)
        terminal.wait_for(terminal.type(migration))
        revisions = list((project.path / "backend/migrations/versions").glob("*_what_changed.py"))
        assert len(revisions) == 1 and "notes" in revisions[0].read_text()
        # The project's own checks once more, as its CI runs them on the new revision.
        terminal.wait_for(terminal.type(tests))
        assert terminal.close() == 0, terminal.output()[-6000:]
    # Following the README never rewrites the lock.
    assert (backend / "uv.lock").read_text() == lock
