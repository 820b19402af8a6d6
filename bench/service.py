"""Service: /health requests per second from the generated backend next to a bare FastAPI
app under the very same start command and virtualenv, alternated."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.figures import Figure, Result, Skipped, alternate, median
from bench.projects import backend_python, bare_app, has_backend, loadgen, render, serve
from harness.service import Service


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    name = "service: /health requests per second, 2 workers"
    if not has_backend(args):
        return [Skipped(name, "no template/backend yet")]
    project = render(args, work, "project", {"workers": 2})
    answers = project.answers
    backend = project.path / "backend"
    python = backend_python(args, work)
    seconds = "3" if args.quick else "5"
    pairs = 3 if args.quick else 7
    connections = "32"

    def load(service: Service) -> Callable[[], float]:
        def run() -> float:
            result = loadgen(
                "http",
                "--port",
                str(service.port),
                "--seconds",
                seconds,
                "--connections",
                connections,
            )
            results[service.port].append(result)
            return float(result["rps"])

        return run

    with (
        serve(backend, answers, python, work) as generated,
        serve(bare_app(work), answers, python, work) as bare,
    ):
        results: dict[int, list[dict[str, Any]]] = {generated.port: [], bare.port: []}
        subject, base = alternate(load(generated), load(bare), pairs)
        errors = sum(r["errors"] + r["requests"] - r["ok"] for r in results[generated.port])
    return [
        Figure(
            name,
            median(subject),
            "req/s",
            len(subject),
            median(base),
            "bare FastAPI app, same command",
            ">= 0.9x bare app",
            0.9,
            higher_is_better=True,
            extra={
                "connections": int(connections),
                "seconds_per_run": float(seconds),
                "errors_or_non_2xx": errors,
                "latency_p50_ms": median([r["latency_p50_ms"] for r in results[generated.port]]),
                "latency_p99_ms": median([r["latency_p99_ms"] for r in results[generated.port]]),
                "bare_latency_p99_ms": median([r["latency_p99_ms"] for r in results[bare.port]]),
                "start_command": answers["start_command"],
            },
        )
    ]
