"""A small HTTP/1.1 load generator on raw asyncio sockets (standard library only).

An HTTP client library spends more CPU per request than the server it measures; on a
two-core machine that would make every server look alike. This one writes the request
bytes and reads the response by Content-Length or chunked framing, nothing more.

    python bench/loadgen.py http --port 8000 --path /health --connections 32 --seconds 5
    python bench/loadgen.py sse --port 8000 --streams 500 --words 200

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Any


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Yield the body of a chunked response, chunk by chunk."""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


async def read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding") == "chunked":
        return b"".join([chunk async for chunk in read_chunks(reader)])
    return await reader.read()


# --------------------------------------------------------------------------- http


async def http_load(
    host: str, port: int, path: str, connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    started = time.perf_counter()
    measure_from = started + warmup
    stop_at = measure_from + seconds

    async def connection() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while time.perf_counter() < stop_at:
            try:
                if reader is None or writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                t0 = time.perf_counter()
                writer.write(request)
                status, headers = await read_head(reader)
                await read_body(reader, headers)
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    latencies.append(t1 - t0)
                    statuses[status] = statuses.get(status, 0) + 1
                if headers.get("connection") == "close":
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if time.perf_counter() >= measure_from:
                    errors.append(type(exc).__name__)
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "requests": sum(statuses.values()),
        "ok": ok,
        "rps": ok / seconds,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "latency_p50_ms": 1000 * (percentile(latencies, 0.5) or 0),
        "latency_p99_ms": 1000 * (percentile(latencies, 0.99) or 0),
    }


# --------------------------------------------------------------------------- sse


async def sse_streams(
    host: str,
    port: int,
    path: str,
    streams: int,
    words: int,
    token: str,
    timeout: float,
    ramp: float,
) -> dict[str, Any]:
    """Open `streams` chat streams at once; each message has `words` words, which the
    offline provider echoes one delta per word, so the streams overlap."""
    body = json.dumps({"message": " ".join(["word"] * words), "conversation_id": None}).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\n{auth}Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    first_event: list[float] = []
    durations: list[float] = []
    errors: dict[str, int] = {}
    open_now = 0
    peak_open = 0
    started = time.perf_counter()

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def stream() -> None:
        nonlocal open_now, peak_open
        t0 = time.perf_counter()
        writer = None
        counted = False
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            status, headers = await read_head(reader)
            if status != 200:
                error(f"HTTP {status}")
                return
            events: list[str] = []
            buffer = b""
            chunks = (
                read_chunks(reader)
                if headers.get("transfer-encoding") == "chunked"
                else _raw(reader)
            )
            async for chunk in chunks:
                buffer += chunk
                while b"\n\n" in buffer or b"\r\n\r\n" in buffer:
                    raw, buffer = _split_event(buffer)
                    name = _event_name(raw)
                    if name is None:
                        continue  # a comment (heartbeat)
                    if not events:
                        first_event.append(time.perf_counter() - t0)
                        open_now += 1
                        counted = True
                        peak_open = max(peak_open, open_now)
                    events.append(name)
            if not events or events[0] != "start" or events[-1] != "done":
                error(f"events {events[:1]}..{events[-1:]}")
            else:
                durations.append(time.perf_counter() - t0)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            error(type(exc).__name__)
        finally:
            if counted:
                open_now -= 1
            if writer is not None:
                writer.close()

    async def bounded(index: int) -> None:
        # Spread the openings over `ramp` seconds, as clients arrive, not in one burst.
        await asyncio.sleep(ramp * index / streams)
        try:
            await asyncio.wait_for(stream(), timeout)
        except TimeoutError:
            error("timeout")

    await asyncio.gather(*(bounded(i) for i in range(streams)))
    return {
        "streams": streams,
        "completed": len(durations),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "peak_open": peak_open,
        "ttfe_p50_ms": 1000 * (percentile(first_event, 0.5) or 0),
        "ttfe_p99_ms": 1000 * (percentile(first_event, 0.99) or 0),
        "stream_p50_s": statistics.median(durations) if durations else None,
        "wall_s": time.perf_counter() - started,
    }


async def _raw(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while data := await reader.read(65536):
        yield data


def _split_event(buffer: bytes) -> tuple[bytes, bytes]:
    buffer = buffer.replace(b"\r\n", b"\n")
    raw, _, rest = buffer.partition(b"\n\n")
    return raw, rest


def _event_name(raw: bytes) -> str | None:
    name = None
    for line in raw.decode().split("\n"):
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:") and name is None:
            name = "message"
    return name


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    # Loopback only: the server under test runs on this machine.
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--host", default="127.0.0.1")
    target.add_argument("--port", type=int, required=True)
    http = sub.add_parser("http", parents=[target])
    http.add_argument("--path", default="/health")
    http.add_argument("--connections", type=int, default=32)
    http.add_argument("--seconds", type=float, default=5)
    http.add_argument("--warmup", type=float, default=1)
    sse = sub.add_parser("sse", parents=[target])
    sse.add_argument("--path", default="/api/chat/stream")
    sse.add_argument("--streams", type=int, default=100)
    sse.add_argument("--words", type=int, default=200)
    sse.add_argument("--token", default="")
    sse.add_argument("--timeout", type=float, default=120)
    sse.add_argument("--ramp", type=float, default=2, help="seconds over which streams open")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.mode == "http":
        result = asyncio.run(
            http_load(args.host, args.port, args.path, args.connections, args.seconds, args.warmup)
        )
    else:
        result = asyncio.run(
            sse_streams(
                args.host,
                args.port,
                args.path,
                args.streams,
                args.words,
                args.token,
                args.timeout,
                args.ramp,
            )
        )
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
