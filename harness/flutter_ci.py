"""The template's Flutter CI (.github/workflows/flutter.yml) in one small command line, so
the workflow holds no list of its own: which answer sets have the app, on which
platforms, with which Flutter, and each rendered exactly as a user would.

    python -m harness.flutter_ci copier      # the pinned Copier requirement, for pip
    python -m harness.flutter_ci matrix      # JSON for the workflow's job matrices
    python -m harness.flutter_ci render NAME DEST
"""

from __future__ import annotations

import argparse
import atexit
import json
import re
import shutil
import sys
import tempfile
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from harness.answer_sets import ANSWER_SETS
from harness.project import REPO, copy_template, render_project


def copier_requirement() -> str:
    """Copier as pinned for the test suite (pyproject.toml), e.g. `copier==9.19.1`."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (pin,) = [r for r in extras["optional-dependencies"]["test"] if re.match(r"copier==", r)]
    return str(pin)


@cache
def _plain_template() -> Path:
    """The template as a plain folder, as tests/conftest.py renders it: the working tree
    as it is, without a git clone per render."""
    dst = Path(tempfile.mkdtemp(prefix="template-"))
    atexit.register(shutil.rmtree, dst, ignore_errors=True)
    return copy_template(dst)


def render(name: str, dst: Path, *, pretend: bool = False) -> dict[str, Any]:
    """Render answer set `name` into `dst` without --trust; Copier's computed answers.
    `pretend` computes them and writes nothing."""
    return render_project(_plain_template(), dst, ANSWER_SETS[name], pretend=pretend).answers


def matrix() -> dict[str, Any]:
    """Every answer set with the Flutter app, with its platforms, and the Flutter version
    (hooks/versions.yml) they are built with."""
    apps, flutter = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name in ANSWER_SETS:
            answers = render(name, Path(tmp) / name, pretend=True)
            flutter = answers["flutter_version"]
            if answers["include_frontend"]:
                platforms = answers["flutter_platforms"]
                apps.append({"name": name} | {p: p in platforms for p in ("web", "android")})
                if "ios" in platforms:
                    apps[-1]["ios"] = True
    ios = [{"name": app["name"]} for app in apps if app.pop("ios", False)]
    return {"flutter": flutter, "apps": {"include": apps}, "ios": {"include": ios}}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("copier")
    commands.add_parser("matrix")
    rendering = commands.add_parser("render")
    rendering.add_argument("name", choices=sorted(ANSWER_SETS))
    rendering.add_argument("dst", type=Path)
    args = parser.parse_args(argv)
    if args.command == "copier":
        print(copier_requirement())
    elif args.command == "matrix":
        print(json.dumps(matrix()))
    else:
        render(args.name, args.dst)


if __name__ == "__main__":
    main(sys.argv[1:])
