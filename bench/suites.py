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


def timed_suite(name: str, command: list[str], cwd: Path) -> Figure:
    """One run of a pytest command; its wall time, and pytest's closing line."""
    start = time.perf_counter()
    suite = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    return Figure(name, elapsed, "s", 1, extra={"summary": summary})


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    """Wall time of this repository's suite and of a generated backend's own suite."""
    figures: list[Result] = [
        timed_suite(
            "tests: this repository's suite (-n 2)",
            [sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider", "tests"],
            args.template,
        )
    ]
    if not has_backend(args):
        figures.append(Skipped("tests: generated backend suite", "no template/backend yet"))
        return figures
    backend = render(args, work, "project", {}).path / "backend"
    python = backend_python(args, work)
    figures.append(
        timed_suite(
            "tests: generated backend suite",
            [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            backend,
        )
    )
    return figures
