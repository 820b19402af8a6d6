"""Shared fixtures: one non-git copy of the template per session, in-process renders."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest

from answer_sets import ANSWER_SETS
from backend_env import backend_venv

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
TEMPLATE_PARTS = ("copier.yml", "hooks", "locks", "template")


@dataclass(frozen=True)
class Project:
    """A rendered project and every value Copier computed for it."""

    path: Path
    answers: dict

    def read(self, relpath: str) -> str:
        return (self.path / relpath).read_text()

    def files(self) -> set[str]:
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def _isolated_copier_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the developer's personal Copier settings out of every render."""
    settings = tmp_path_factory.mktemp("copier-settings") / "settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as a plain folder: Copier then renders the working tree as it is,
    with no git clone, which is faster and includes uncommitted edits."""
    dst = tmp_path_factory.mktemp("template")
    for part in TEMPLATE_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dst / part)
        else:
            shutil.copy2(src, dst / part)
    return dst


def render_project(template: Path | str, dst: Path, answers: dict, **kwargs) -> Project:
    """Render in-process exactly as a user would, without --trust."""
    worker = copier.run_copy(
        str(template),
        str(dst),
        data=answers,
        defaults=True,
        unsafe=False,
        quiet=True,
        **kwargs,
    )
    return Project(path=dst, answers=dict(worker.answers.combined))


@pytest.fixture(scope="session")
def render(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """render(answers) -> a fresh project in its own folder."""

    def _render(answers: dict | None = None, **kwargs) -> Project:
        return render_project(
            template_dir, tmp_path_factory.mktemp("project"), answers or {}, **kwargs
        )

    return _render


@pytest.fixture(scope="session")
def rendered(
    template_dir: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Callable[[str], Project]:
    """rendered(name) -> the project for a named answer set, rendered once per test run
    and shared by all xdist workers (a file lock per name). Tests must not modify it; use
    `render` for a project of their own."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if worker_id != "master" else base) / "rendered"
    shared.mkdir(exist_ok=True)

    def _rendered(name: str) -> Project:
        path, answers_json = shared / name, shared / f"{name}.answers.json"
        with open(shared / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not answers_json.exists():
                project = render_project(template_dir, path, ANSWER_SETS[name])
                answers_json.write_text(json.dumps(project.answers, default=str))
        return Project(path=path, answers=json.loads(answers_json.read_text()))

    return _rendered


@pytest.fixture(scope="session")
def backend_python(rendered: Callable[[str], Project]) -> Path:
    """The python of one virtualenv with a generated backend's uv.lock (all
    integrations) installed, shared by every xdist worker and cached between sessions."""
    return backend_venv(rendered("default").path / "backend")
