"""Tests: wall time of this repository's suite and of a generated backend's own suite,
one run each (no baseline: a trend to watch, not a ratio)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.figures import Figure, Result, Skipped
from bench.projects import backend_python, has_backend, render


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    """Wall time of this repository's suite and of a generated backend's own suite."""
    figures: list[Result] = []
    start = time.perf_counter()
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=args.template,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    figures.append(
        Figure("tests: this repository's suite (-n 2)", elapsed, "s", 1, extra={"summary": summary})
    )
    if not has_backend(args):
        figures.append(Skipped("tests: generated backend suite", "no template/backend yet"))
        return figures
    backend = render(args, work, "project", {}).path / "backend"
    python = backend_python(args, work)
    start = time.perf_counter()
    suite = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=backend,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    figures.append(
        Figure("tests: generated backend suite", elapsed, "s", 1, extra={"summary": summary})
    )
    return figures
