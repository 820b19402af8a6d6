"""What the benchmarks run: the template as a git repository, rendered projects, the
backend's virtualenv, a bare FastAPI app as the baseline, and the load generator."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.backend import HIGH_CHAT_LIMITS, backend_env, backend_venv
from harness.project import REPO, Project, copy_template, render_project
from harness.service import Service

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

BARE_APP = '''\
"""The baseline: a bare FastAPI app, one health route and one SSE route paced like the
generated backend's offline provider, with no database, settings or middleware."""

import asyncio
import json

from fastapi import FastAPI, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/chat/stream", response_class=EventSourceResponse)
async def stream(request: Request) -> EventSourceResponse:
    words = (await request.json())["message"].split(" ")

    async def events():
        yield ServerSentEvent(event="start", data=json.dumps({"conversation_id": "1"}))
        for word in words:
            yield ServerSentEvent(event="delta", data=json.dumps({"text": word}))
            await asyncio.sleep(0.01)
        yield ServerSentEvent(event="done", data=json.dumps({"conversation_id": "1"}))

    return EventSourceResponse(events())
'''

# The start command is `gunicorn main:app` and reads its settings from this file, as the
# generated backend's does: the same server (workers, worker class, access log), so the
# two differ only in the app.
BARE_GUNICORN = """\
import os

worker_class = "uvicorn_worker.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
bind = f"0.0.0.0:{os.environ.get('PORT') or 8000}"
keepalive = 75
forwarded_allow_ips = "*"
accesslog = "-"
preload_app = True
control_socket_disable = True
"""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV}
    )


def git_repo(path: Path, tags: list[str], force: bool = False) -> Path:
    """Commit what is in `path` and tag it; every tag after the first gets an empty
    commit of its own, so an update from the first tag to the last has work to do.
    `force` adds files a .gitignore inside would hide (template/.gitignore ignores
    .env*, which would drop template/backend/.env.jinja from the template's repo)."""
    git("init", "-q", "-b", "main", cwd=path)
    git("add", "-A", *(["--force"] if force else []), cwd=path)
    git("commit", "-q", "-m", "template", cwd=path)
    for i, tag in enumerate(tags):
        if i:
            git("commit", "-q", "--allow-empty", "-m", f"release {tag}", cwd=path)
        git("tag", tag, cwd=path)
    return path


def copier_env(work: Path) -> dict[str, str]:
    """No personal Copier settings, and a git identity for `copier update`'s commits.
    Also set for this process, so that in-process copies read the same settings."""
    settings = work / "copier-settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    return {**os.environ, **GIT_ENV}


class Counter:
    """Fresh, numbered destination folders under `work`."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.n = 0

    def fresh(self, prefix: str) -> Path:
        self.n += 1
        return self.work / f"{prefix}-{self.n}"


def render(args: argparse.Namespace, work: Path, name: str, answers: dict[str, Any]) -> Project:
    """The template (args.template) rendered in-process into work/name."""
    copier_env(work)
    template = work / "template-plain"
    if not template.exists():
        copy_template(template, args.template)
    return render_project(template, work / name, answers)


def backend_python(args: argparse.Namespace, work: Path) -> Path:
    """The test suite's shared virtualenv: the default answers' uv.lock,
    which has every integration's packages (installed once, then cached)."""
    project = work / "project-default"
    if not project.exists():
        render(args, work, project.name, {})
    print("  the backend's virtualenv (installed once, then cached) ...", file=sys.stderr)
    return backend_venv(project / "backend")


def serve(
    cwd: Path, answers: dict[str, Any], python: Path, work: Path, **variables: str
) -> Service:
    """The app in `cwd` under the generated start command, 2 workers, on loopback; its
    chat limits on but too high for a load from one address to reach."""
    env = backend_env(python, **{**HIGH_CHAT_LIMITS, **variables})
    return Service(cwd, answers["start_command"], python, work, env).start(2)


def has_backend(args: argparse.Namespace) -> bool:
    backend = args.template / "template" / "backend"
    return any(backend.glob("main.py*"))


def loadgen(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "loadgen.py"), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def bare_app(work: Path) -> Path:
    bare = work / "bare"
    bare.mkdir(exist_ok=True)
    (bare / "main.py").write_text(BARE_APP)
    (bare / "gunicorn.conf.py").write_text(BARE_GUNICORN)
    return bare
