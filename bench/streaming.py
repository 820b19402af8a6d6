"""Streaming: N concurrent chat streams on the generated backend (chat without sign-in,
the offline provider, its chat limits on but set out of reach, so every check still runs)
next to a bare SSE route paced the same, with each worker's peak memory; and the database
round trips a chat request makes before its first event, counted on the wire."""

from __future__ import annotations

import argparse
import json
import socket
import statistics
from pathlib import Path
from typing import Any

from bench.figures import Figure, Result, Skipped, median
from bench.projects import backend_python, bare_app, has_backend, loadgen, render, serve
from harness.backend import POSTGRES, postgres_database
from harness.service import PeakRss, Service


def chat_until_first_event(port: int, counter: Any) -> tuple[int, int]:
    """One chat request on a raw socket: the round trips the database had answered when
    its first event arrived, and by the end of the stream, counted from the request."""
    body = json.dumps({"message": "hello there"})
    request = (
        f"POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    before, first = counter.count, None
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
            if first is None and b"event: start" in received:
                first = counter.count
    assert b"event: done" in received, received[-300:]
    assert first is not None
    return first - before, counter.count - before


def round_trips(backend: Path, answers: dict[str, Any], python: Path, work: Path) -> list[float]:
    """Mean round trips before the first event and for the whole request, one worker's
    requests one after another, on Postgres through scaling.RoundTripCounter."""
    from bench.scaling import RoundTripCounter

    counter = RoundTripCounter(("127.0.0.1", int(POSTGRES.rsplit(":", 1)[1])))
    with postgres_database(python) as url:
        name = url.rsplit("/", 1)[1]
        relayed = f"postgresql://postgres@127.0.0.1:{counter.port}/{name}?sslmode=disable"
        (work / "round-trips").mkdir(exist_ok=True)
        with serve(backend, answers, python, work / "round-trips", DATABASE_URL=relayed) as app:
            for _ in range(4):  # each worker's pool opens its connection once
                chat_until_first_event(app.port, counter)
            counts = [chat_until_first_event(app.port, counter) for _ in range(20)]
    return [statistics.mean(c[0] for c in counts), statistics.mean(c[1] for c in counts)]


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
    first, whole = round_trips(backend, answers, python, work)
    figures.append(
        Figure(
            "streaming: database round trips before a chat's first event",
            first,
            "round trips",
            20,
            note=f"{whole:.1f} for the whole request (Postgres, the limits on)",
            extra={"before_first_event": first, "whole_request": whole},
        )
    )
    return figures
