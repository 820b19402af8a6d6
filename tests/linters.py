"""The external checkers the tests run on generated files, each returning its findings.

A checker is run as a subprocess from the test environment's own bin folder, so the
pinned versions in pyproject.toml are the ones that judge.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


def actionlint(*workflows: Path) -> str:
    """actionlint's findings ('' when clean), with shellcheck on `run:` scripts where it is
    installed (.ci/run installs it). pyflakes is off: ruff checks the Python."""
    shellcheck = shutil.which("shellcheck") or ""
    result = _run(
        BIN / "actionlint", f"-shellcheck={shellcheck}", "-pyflakes=", "-no-color", *workflows
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def zizmor(*paths: Path) -> str:
    """zizmor's findings at its default persona ('' when clean), offline."""
    result = _run(BIN / "zizmor", "--offline", "--no-progress", "--format", "plain", *paths)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def check_jsonschema(builtin_or_file: str, *files: Path) -> str:
    """check-jsonschema's findings ('' when clean). `builtin_or_file` is a builtin
    schema name (vendor.github-workflows) or a path to a schema file."""
    flag = "--builtin-schema" if builtin_or_file.startswith("vendor.") else "--schemafile"
    result = _run(BIN / "check-jsonschema", flag, builtin_or_file, *files)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def ruff(project_dir: Path) -> str:
    """`ruff check` and `ruff format --check` findings for a folder ('' when clean)."""
    out = ""
    for args in (("check", "--no-cache"), ("format", "--check", "--no-cache")):
        result = _run(BIN / "ruff", *args, ".", cwd=project_dir)
        if result.returncode != 0:
            out += result.stdout + result.stderr
    return out


def mypy(project_dir: Path) -> str:
    """mypy's findings for a folder with its own [tool.mypy] settings ('' when clean)."""
    result = _run(BIN / "mypy", cwd=project_dir)
    return "" if result.returncode == 0 else result.stdout + result.stderr
