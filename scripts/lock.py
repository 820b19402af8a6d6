"""Regenerate the backend's locks in locks/<name>/ (uv.lock and its requirements.txt export).

    python scripts/lock.py             # after changing backend/pyproject.toml.jinja
    python scripts/lock.py --upgrade   # move every transitive pin to its newest release

The backend's dependencies differ only by the AI and sign-in integrations, so one lock per
combination fits every answer set; hooks/lock.yml picks a project's, and the template's
uv.lock.jinja and requirements.txt.jinja include it. Needs uv (the test extra pins it)
and PyPI.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier

REPO = Path(__file__).resolve().parent.parent
# One integrations answer per lock; the lock's name comes from the rendered answers.
VARIANTS = (
    [],
    ["anthropic"],
    ["google_oauth"],
    ["anthropic", "google_oauth", "microsoft_oauth"],
)
# How requirements.txt is exported from uv.lock, here and in a generated project's CI.
EXPORT = ("uv", "export", "--locked", "--no-dev", "--output-file", "requirements.txt")


def render_pyproject(integrations: list[str], work: Path) -> tuple[Path, str]:
    """backend/pyproject.toml rendered for these integrations, and its lock's name."""
    worker = copier.run_copy(
        str(REPO),
        str(work / "project"),
        data={"integrations": integrations},
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref="HEAD",
        # The locks are what this script makes: don't render the files that include them.
        exclude=["backend/uv.lock", "backend/requirements.txt"],
    )
    return work / "project" / "backend" / "pyproject.toml", worker.answers.combined["backend_lock"]


def lock(integrations: list[str], upgrade: bool) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pyproject, name = render_pyproject(integrations, work)
        target = REPO / name
        backend = work / "backend"
        backend.mkdir()
        shutil.copy2(pyproject, backend / "pyproject.toml")
        if (target / "uv.lock").exists():  # keep every pin the change doesn't touch
            shutil.copy2(target / "uv.lock", backend / "uv.lock")
        command = ["uv", "lock", "--quiet"] + (["--upgrade"] if upgrade else [])
        subprocess.run(command, cwd=backend, check=True)
        subprocess.run([*EXPORT, "--quiet"], cwd=backend, check=True)
        target.mkdir(parents=True, exist_ok=True)
        for file in ("uv.lock", "requirements.txt"):
            shutil.copy2(backend / file, target / file)
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest release of every pin")
    args = parser.parse_args()
    for integrations in VARIANTS:
        print(lock(integrations, args.upgrade), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
