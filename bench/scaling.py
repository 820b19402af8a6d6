"""Scaling out on this machine: /health and chat through HAProxy in front of one and of
two instances of the generated backend (each a Gunicorn master with 2 workers, one
Postgres database), measured in the same run, alternating; and the database round
trips one chat request costs, counted on the wire.

    python bench/run.py --only scaling            # ~3 minutes on 2 cores
    python bench/run.py --only scaling --quick    # one round, shorter loads

The figures are ratios against the one instance measured in the same run: absolute
numbers on a shared machine say little.
Needs the Postgres at 127.0.0.1:5432 (TEST_POSTGRES_URL) and haproxy, like the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.figures import Figure, Result, median
from bench.projects import loadgen, render
from harness.backend import HIGH_CHAT_LIMITS, POSTGRES, backend_venv, postgres_database
from harness.cluster import Cluster
from harness.proxy import HAProxy, Reply, call, sse_events
from harness.service import free_port


class RoundTripCounter:
    """A loopback TCP relay in front of Postgres that counts ReadyForQuery messages: the
    server sends exactly one at the end of every round trip (a simple query, or an
    extended-protocol Sync), so the count is the round trips clients waited for."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.count = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # Kept referenced: the listening server lives as long as this (daemon) thread.
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._relay, "127.0.0.1", self.port)
        )
        self.ready.set()
        self.loop.run_forever()

    async def _relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        server, to_server = await asyncio.open_connection(*self.upstream)

        async def forward(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        async def count_replies() -> None:
            # Server messages: a type byte, then a length that counts itself.
            buffer = b""
            with contextlib.suppress(OSError):
                while data := await server.read(65536):
                    to_client.write(data)
                    buffer += data
                    while len(buffer) >= 5:
                        end = 1 + int.from_bytes(buffer[1:5], "big")
                        if len(buffer) < end:
                            break
                        self.count += buffer[0] == ord("Z")
                        buffer = buffer[end:]
                    await to_client.drain()
            to_client.close()

        await asyncio.gather(forward(client, to_server), count_replies())


@contextlib.contextmanager
def started(
    project: Path, answers: dict[str, object], python: Path, url: str, work: Path, count: int
) -> Iterator[Cluster]:
    """`count` instances of the project's backend on `url`, behind HAProxy, running."""
    work.mkdir()
    # The chat limits on, every check running, but out of the load's way.
    with Cluster(
        project / "backend",
        str(answers["start_command"]),
        python,
        url,
        work,
        count,
        **HIGH_CHAT_LIMITS,
    ) as cluster:
        yield cluster.start()


def number(result: dict[str, object], key: str) -> float:
    value = result[key]
    assert isinstance(value, int | float), result
    return float(value)


def round_trips(
    project: Path, answers: dict[str, object], python: Path, work: Path
) -> dict[str, float]:
    """Round trips per request, one instance, requests one after another."""
    host, port = "127.0.0.1", int(POSTGRES.rsplit(":", 1)[1])
    counter = RoundTripCounter((host, port))
    with postgres_database(python) as url:
        # Through the counter, in plain text (the server may offer TLS on loopback).
        name = url.rsplit("/", 1)[1]
        relayed = f"postgresql://postgres@127.0.0.1:{counter.port}/{name}?sslmode=disable"
        with started(project, answers, python, relayed, work / "round-trips", 1) as cluster:
            token, _ = cluster.sign_in("bench")
            bearer = {"Authorization": f"Bearer {token}"}
            cluster.chat(token, "warm up")  # each worker's pool opens its connections once
            cluster.chat(token, "warm up")
            figures: dict[str, float] = {}
            first = sse_events(cluster.chat(token, "first turn").body)
            conversation = str(first[-1][1]["conversation_id"])
            requests: list[tuple[str, Callable[[], Reply]]] = [
                ("/health", lambda: call(cluster.port, "GET", "/health")),
                ("/api/me", lambda: call(cluster.port, "GET", "/api/me", headers=bearer)),
                ("chat, new conversation", lambda: cluster.chat(token, "hello there")),
                ("chat, continued", lambda: cluster.chat(token, "next", conversation)),
            ]
            for label, request in requests:
                before = counter.count
                for _ in range(20):
                    assert request().status == 200
                figures[label] = (counter.count - before) / 20
    return figures


@contextlib.contextmanager
def one_and_two(
    project: Path, answers: dict[str, object], python: Path, work: Path
) -> Iterator[tuple[Cluster, HAProxy]]:
    """Two instances behind HAProxy, and a second HAProxy in front of the first only."""
    with (
        postgres_database(python) as url,
        started(project, answers, python, url, work / "two", 2) as cluster,
    ):
        (work / "one").mkdir()
        single = HAProxy([("i0", cluster.instances[0].service.port)], work / "one")
        with single:
            single.start()
            single.wait_for("i0", "UP")
            yield cluster, single


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    rounds, seconds, streams = (1, 3, 40) if args.quick else (3, 5, 100)
    project = render(args, work, "project-scaling", {"workers": 2})
    answers = dict(project.answers)
    python = backend_venv(project.path / "backend")
    trips = round_trips(project.path, answers, python, work)
    samples: dict[str, list[float]] = {}
    with one_and_two(project.path, answers, python, work) as (cluster, single):
        token, _ = cluster.sign_in("load")
        for i in range(rounds):
            order = [("one", single.port), ("two", cluster.port)]
            for label, port in order if i % 2 == 0 else reversed(order):
                health = loadgen("http", "--port", str(port), "--seconds", str(seconds))
                chat = loadgen(
                    "sse",
                    "--port",
                    str(port),
                    "--streams",
                    str(streams),
                    "--words",
                    "50",
                    "--token",
                    token,
                    "--ramp",
                    "1",
                )
                assert number(chat, "errors") == 0, chat
                samples.setdefault(f"health {label}", []).append(number(health, "rps"))
                samples.setdefault(f"chat {label}", []).append(
                    number(chat, "completed") / number(chat, "wall_s")
                )
    through = "through HAProxy, two instances of 2 workers"
    return [
        Figure(
            f"scaling: /health {through}",
            median(samples["health two"]),
            "req/s",
            rounds,
            median(samples["health one"]),
            "one instance, same proxy",
            higher_is_better=True,
            extra={"samples": samples},
        ),
        Figure(
            f"scaling: chat streams per second {through}",
            median(samples["chat two"]),
            "streams/s",
            rounds,
            median(samples["chat one"]),
            "one instance, same proxy",
            higher_is_better=True,
            note=f"{streams} streams of 50 words",
        ),
        Figure(
            "scaling: database round trips per new chat request",
            trips["chat, new conversation"],
            "round trips",
            20,
            note=", ".join(f"{label} {value:.1f}" for label, value in trips.items()),
            extra={"db_round_trips_per_request": trips},
        ),
    ]
