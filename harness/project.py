"""The template as Copier sees it, and one in-process render of it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# Facts and platform schemas, in the shared/ folder beside the repository.
SHARED = REPO.parent / "shared"
# What Copier reads from the repository: everything else (tests, docs) is not the template.
TEMPLATE_PARTS = ("copier.yml", "hooks", "locks", "template")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "node_modules", ".dart_tool")


@dataclass(frozen=True)
class Project:
    """A rendered project and every value Copier computed for it."""

    path: Path
    answers: dict[str, Any]

    def read(self, relpath: str) -> str:
        return (self.path / relpath).read_text()

    def files(self) -> set[str]:
        return {p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()}


def copy_template(dst: Path, source: Path = REPO) -> Path:
    """The template as a plain folder: Copier then renders the working tree as it is,
    with no git clone, which is faster and includes uncommitted edits."""
    dst.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dst / part, ignore=IGNORED)
        elif src.exists():
            shutil.copy2(src, dst / part)
    return dst


def render_project(
    template: Path | str, dst: Path, answers: dict[str, Any], **kwargs: Any
) -> Project:
    """Render in-process exactly as a user would, without --trust."""
    import copier  # here, so that what needs no render runs before Copier is installed

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
