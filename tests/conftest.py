"""Shared fixtures: one non-git copy of the template per session, in-process renders."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.answer_sets import ANSWER_SETS
from harness.backend import backend_venv
from harness.project import Project, copy_template, render_project


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
    return copy_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def render(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """render(answers) -> a fresh project in its own folder."""

    def _render(answers: dict[str, Any] | None = None, **kwargs: Any) -> Project:
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
