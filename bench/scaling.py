"""Scaling out on this machine: /health and chat through HAProxy in front of one and of
two instances of the generated backend (each a Gunicorn master with 2 workers, one
Postgres database), measured in the same run, alternating; and the database round
trips one chat request costs, counted on the wire.

    python bench/scaling.py               # ~3 minutes on 2 cores
    python bench/scaling.py --quick       # one round, shorter loads

Prints a table and writes bench/scaling.json. The figures are ratios against the one
instance measured in the same run: absolute numbers on a shared machine say little.
Needs the Postgres at 127.0.0.1:5432 (TEST_POSTGRES_URL) and haproxy, like the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from backend_env import POSTGRES, backend_venv, postgres_database  # noqa: E402
from cluster import Cluster  # noqa: E402
from gunicorn_service import free_port  # noqa: E402
from proxy import HAProxy, call, sse_events  # noqa: E402

TEMPLATE_PARTS = ("copier.yml", "hooks", "template")
# Out of the way of a load test: the per-user limits a generated backend may enforce.
NO_LIMITS = {
    "CHAT_MAX_CONCURRENT_STREAMS": "100000",
    "CHAT_REQUESTS_PER_MINUTE": "1000000",
    "CHAT_DAILY_TOKENS_PER_USER": "1000000000000",
    "CHAT_DAILY_TOKENS_TOTAL": "1000000000000",
}


def render(work: Path) -> tuple[Path, dict[str, object]]:
    """The default answers with 2 workers, rendered from this checkout as it is."""
    settings = work / "copier-settings.yml"
    settings.write_text("{}\n")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    import copier

    template = work / "template"
    for part in TEMPLATE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, template / part)
        else:
            template.mkdir(exist_ok=True)
            shutil.copy2(source, template / part)
    worker = copier.run_copy(
        str(template), str(work / "project"), data={"workers": 2}, defaults=True, quiet=True
    )
    return work / "project", dict(worker.answers.combined)


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
    with Cluster(
        project / "backend", str(answers["start_command"]), python, url, work, count, **NO_LIMITS
    ) as cluster:
        yield cluster.start()


def loadgen(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "loadgen.py"), *args],
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


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
            for label, request in (
                ("/health", lambda: call(cluster.port, "GET", "/health")),
                ("/api/me", lambda: call(cluster.port, "GET", "/api/me", headers=bearer)),
                ("chat, new conversation", lambda: cluster.chat(token, "hello there")),
                ("chat, continued", lambda: cluster.chat(token, "next", conversation)),
            ):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round, shorter loads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "scaling.json")
    args = parser.parse_args()
    rounds, seconds, streams = (1, 3, 40) if args.quick else (args.rounds, 5, 100)

    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        work = Path(tmp)
        print("rendering and installing the backend (cached after the first run) ...")
        project, answers = render(work)
        python = backend_venv(project / "backend")
        trips = round_trips(project, answers, python, work)
        samples: dict[str, list[float]] = {}
        with one_and_two(project, answers, python, work) as (cluster, single):
            token, _ = cluster.sign_in("load")
            for _ in range(rounds):
                for label, port in (("one", single.port), ("two", cluster.port)):
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

    median = {key: statistics.median(values) for key, values in samples.items()}
    results = {
        "rounds": rounds,
        "cores": os.cpu_count(),
        "health_rps": {"one": median["health one"], "two": median["health two"]},
        "health_two_vs_one": median["health two"] / median["health one"],
        "chat_streams_per_s": {"one": median["chat one"], "two": median["chat two"]},
        "chat_two_vs_one": median["chat two"] / median["chat one"],
        "db_round_trips_per_request": trips,
        "samples": samples,
    }
    print(f"\nThrough HAProxy, {rounds} round(s), {os.cpu_count()} cores, medians:")
    print("| figure | one instance | two instances | two / one |")
    print("| --- | --- | --- | --- |")
    for figure, key, unit in (("/health", "health", "req/s"), ("chat", "chat", "streams/s")):
        one, two = median[f"{key} one"], median[f"{key} two"]
        print(f"| {figure} ({unit}) | {one:.1f} | {two:.1f} | {two / one:.2f}x |")
    print("\nDatabase round trips per request (one instance, sequential):")
    for label, value in trips.items():
        print(f"| {label} | {value:.1f} |")
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
