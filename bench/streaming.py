"""Streaming: N concurrent chat streams on the generated backend (chat without sign-in,
the offline provider) next to a bare SSE route paced the same, with each worker's peak
memory."""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path

from bench.figures import Figure, Result, Skipped, median
from bench.projects import backend_python, bare_app, has_backend, loadgen, render, serve
from harness.service import Service


class PeakRss:
    """Samples the workers' resident memory while a load runs; keeps each one's peak."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.service.worker_pids():
                with contextlib.suppress(OSError):
                    self.peak[pid] = max(self.peak.get(pid, 0), Service.rss_mb(pid))
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    name = "streaming: concurrent SSE chat streams, 2 workers"
    if not has_backend(args):
        return [Skipped(name, "no template/backend yet")]
    # Chat without sign-in, so a stream needs no token; the offline provider answers.
    project = render(args, work, "project-chat", {"workers": 2, "integrations": ["anthropic"]})
    answers = project.answers
    backend = project.path / "backend"
    python = backend_python(args, work)
    words = "100" if args.quick else "200"
    runs = 1 if args.quick else 3
    database = {"DATABASE_URL": args.database_url} if args.database_url else {}
    figures: list[Result] = []
    with (
        serve(backend, answers, python, work, **database) as generated,
        serve(bare_app(work), answers, python, work) as bare,
    ):
        idle = max(Service.rss_mb(pid) for pid in generated.worker_pids())
        for streams in (100, 500, 1000):
            subject, base, peaks, results = [], [], [], []
            for i in range(runs):
                order = [generated, bare] if i % 2 == 0 else [bare, generated]
                for service in order:
                    with PeakRss(service) as rss:
                        result = loadgen(
                            "sse",
                            "--port",
                            str(service.port),
                            "--streams",
                            str(streams),
                            "--words",
                            words,
                        )
                    if service is generated:
                        subject.append(result["ttfe_p50_ms"])
                        peaks.append(max(rss.peak.values()))
                        results.append(result)
                    else:
                        base.append(result["ttfe_p50_ms"])
            figures.append(
                Figure(
                    f"streaming: {streams} streams, time to first event p50",
                    median(subject),
                    "ms",
                    len(subject),
                    median(base),
                    "bare FastAPI SSE route",
                    note=(
                        f"errors {max(r['errors'] for r in results)}/{streams}, "
                        f"peak open {min(r['peak_open'] for r in results)}, "
                        f"p99 {median([r['ttfe_p99_ms'] for r in results]):.0f} ms, "
                        f"peak RSS {median(peaks):.0f} MB/worker"
                    ),
                    extra={
                        "streams": streams,
                        "words_per_stream": int(words),
                        "completed": min(r["completed"] for r in results),
                        "errors": max(r["errors"] for r in results),
                        "error_kinds": [r["error_kinds"] for r in results if r["errors"]],
                        "peak_open": min(r["peak_open"] for r in results),
                        "ttfe_p99_ms": median([r["ttfe_p99_ms"] for r in results]),
                        "peak_rss_mb_per_worker": median(peaks),
                        "idle_rss_mb_per_worker": idle,
                        "database": "postgres" if args.database_url else "sqlite",
                    },
                )
            )
    return figures
