"""Two instances of the generated backend on one database, behind a real reverse proxy
(HAProxy, round-robin, health checks on /health), as Render's numInstances and Railway's
replicas run it: each instance its own Gunicorn master with 2 workers on its own loopback
port. Everything a user does must work whichever instance each request reaches."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.backend import POSTGRES, backend_env, postgres_database
from harness.cluster import Cluster
from harness.project import Project
from harness.proxy import call, sse_events
from harness.service import free_port

pytestmark = pytest.mark.slow

# Long enough that streams are still open when an instance is stopped: the offline
# provider sends one word every 10 ms, so ~3 s a stream.
LONG_MESSAGE = " ".join(["word"] * 300)


@pytest.fixture(scope="module")
def project(render: Callable[..., Project]) -> Project:
    # Two workers per instance whichever way the answers reach Gunicorn.
    return render({"workers": 2})


@pytest.fixture(scope="module")
def database_url(backend_python: Path) -> Iterator[str]:
    with postgres_database(backend_python) as url:
        yield url


@pytest.fixture(scope="module")
def migration_lock(
    backend_python: Path, database_url: str, project: Project
) -> Iterator[MigrationLock]:
    with MigrationLock(backend_python, database_url, project) as lock:
        yield lock


@pytest.fixture(scope="module")
def cluster(
    project: Project,
    backend_python: Path,
    database_url: str,
    migration_lock: MigrationLock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    cluster = Cluster(
        project.path / "backend",
        project.answers["start_command"],
        backend_python,
        database_url,
        tmp_path_factory.mktemp("scaling"),
        # Per-user chat limits, where the backend has them: two streams at once (the
        # rolling restart spreads its streams over ten users), the rest out of the way.
        CHAT_MAX_CONCURRENT_STREAMS="2",
        CHAT_REQUESTS_PER_MINUTE="10000",
        CHAT_DAILY_TOKENS_PER_USER="1000000000",
        CHAT_DAILY_TOKENS_TOTAL="1000000000",
    )

    def meet_at_the_lock() -> None:
        # The test holds the migrations' advisory lock while both instances start, so
        # both masters reach their migration before either may run it.
        migration_lock.observe(cluster)
        migration_lock.release()

    with cluster:
        yield cluster.start(while_starting=meet_at_the_lock)


class MigrationLock:
    """The advisory lock migrations/env.py takes, held by the test in a session of its
    own; records what both instances did while it was held."""

    SCRIPT = """\
import asyncio, sys, asyncpg
async def main():
    connection = await asyncpg.connect(sys.argv[1])
    await connection.execute("SELECT pg_advisory_lock($1)", int(sys.argv[2]))
    print("locked", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await connection.close()
asyncio.run(main())
"""

    def __init__(self, python: Path, database_url: str, project: Project) -> None:
        env_py = (project.path / "backend" / "migrations" / "env.py").read_text()
        match = re.search(r"^MIGRATION_LOCK_ID = ([\d_]+)$", env_py, re.MULTILINE)
        assert match, "migrations/env.py names no MIGRATION_LOCK_ID"
        self.args = [str(python), "-c", self.SCRIPT, database_url, match[1].replace("_", "")]
        self.waiting: dict[str, bool] = {}

    def __enter__(self) -> MigrationLock:
        self.process = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None and self.process.stdout.readline() == "locked\n"
        return self

    def observe(self, cluster: Cluster, timeout: float = 90) -> None:
        """Until every instance has reached its migration; then whether each is still
        held there a second later (not yet serving)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(MIGRATING in i.service.log() for i in cluster.instances):
                break
            time.sleep(0.1)
        time.sleep(1)
        self.waiting = {
            i.name: MIGRATING in i.service.log() and "Listening at" not in i.service.log()
            for i in cluster.instances
        }

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# Alembic's line when it opens the migration transaction, just before env.py's lock.
MIGRATING = "Will assume transactional DDL"


QUERY = """\
import asyncio, json, sys, asyncpg
async def main():
    connection = await asyncpg.connect(sys.argv[1])
    print(json.dumps([list(row) for row in await connection.fetch(sys.argv[2])], default=str))
    await connection.close()
asyncio.run(main())
"""


def query(python: Path, database_url: str, sql: str) -> list[list[object]]:
    """Rows of `sql`, through the backend's own driver (no Postgres client needed)."""
    result = subprocess.run(
        [str(python), "-c", QUERY, database_url, sql], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_both_instances_start_at_once_and_the_migration_runs_once(
    cluster: Cluster, project: Project, migration_lock: MigrationLock
) -> None:
    # Both masters were at their migration at the same time, each waiting for the lock.
    assert migration_lock.waiting == {"i0": True, "i1": True}, cluster.logs()
    revisions = list((project.path / "backend" / "migrations" / "versions").glob("*.py"))
    applied = [line for line in cluster.logs().splitlines() if "Running upgrade" in line]
    # Both masters migrated at start-up; the advisory lock let one apply each revision.
    assert len(applied) == len(revisions), applied
    assert all(
        instance.service.log().count("Application startup complete") >= 2
        for instance in cluster.instances
    )
    rows = query(cluster.python, cluster.database_url, "SELECT version_num FROM alembic_version")
    assert len(rows) == 1
    assert f'"{rows[0][0]}"' in "".join(path.read_text() for path in revisions)


def test_the_proxy_spreads_requests_over_both_instances(cluster: Cluster) -> None:
    served = [call(cluster.port, "GET", "/health").served_by for _ in range(6)]
    assert set(served) == {"i0", "i1"}, served


def test_a_sign_in_started_on_one_instance_completes_on_the_other(cluster: Cluster) -> None:
    token, served = cluster.sign_in("cross-instance")
    login, callback = served[:2]
    assert {login, callback} == {"i0", "i1"}, served
    # The token works on every instance.
    for _ in range(2):
        me = call(cluster.port, "GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status == 200, me
        assert me.json()["email"] == "cross-instance@example.com"


def test_a_conversation_continued_on_the_other_instance_keeps_its_history(
    cluster: Cluster,
) -> None:
    token, _ = cluster.sign_in("conversation")
    first = cluster.chat(token, "remember the word zebra")
    events = sse_events(first.body)
    assert [name for name, _ in events][-1] == "done", events
    conversation_id = str(events[-1][1]["conversation_id"])
    first_usage = events[-1][1]["usage"]

    second = cluster.chat(token, "which word", conversation_id)
    assert second.served_by != first.served_by
    events = sse_events(second.body)
    assert events[-1][0] == "done", events
    # The offline provider counts every word it was sent: the earlier turn and its reply
    # came along, read from the database by the other instance.
    assert isinstance(first_usage, dict)
    usage = events[-1][1]["usage"]
    assert isinstance(usage, dict)
    earlier = 4 + int(first_usage["output_tokens"])
    assert usage["input_tokens"] == earlier + 2, (first_usage, usage)
    stored = query(
        cluster.python,
        cluster.database_url,
        f"SELECT role FROM messages WHERE conversation_id = '{conversation_id}'",
    )
    assert sorted(str(row[0]) for row in stored) == ["assistant", "assistant", "user", "user"]


class Stream(threading.Thread):
    """One chat stream through the proxy; its event names as they end up."""

    def __init__(self, cluster: Cluster, token: str, message: str = LONG_MESSAGE) -> None:
        super().__init__(daemon=True)
        self.cluster, self.token, self.message = cluster, token, message
        self.events: list[str] = []
        self.status = 0
        self.served_by = ""

    def run(self) -> None:
        try:
            reply = self.cluster.chat(self.token, self.message)
        except OSError as exc:
            self.events = [f"{type(exc).__name__}"]
            return
        self.status, self.served_by = reply.status, reply.served_by
        self.events = [name for name, _ in sse_events(reply.body)] if reply.status == 200 else []


class Traffic(threading.Thread):
    """Requests through the proxy one after another (health checks and short chats, on
    fresh connections): when each started, and what went wrong if it did not succeed."""

    def __init__(self, cluster: Cluster, token: str) -> None:
        super().__init__(daemon=True)
        self.cluster, self.token = cluster, token
        self.results: list[tuple[float, str]] = []  # (started, "" or the failure)
        self.stop = threading.Event()

    @property
    def sent(self) -> int:
        return len(self.results)

    def failed(self, since: float = 0) -> list[str]:
        return [failure for started, failure in self.results if failure and started >= since]

    def run(self) -> None:
        while not self.stop.is_set():
            started, failure = time.monotonic(), ""
            try:
                if len(self.results) % 3:
                    reply = call(self.cluster.port, "GET", "/health", timeout=10)
                    ok = reply.status == 200
                else:
                    reply = self.cluster.chat(self.token, "a short one")
                    ok = reply.status == 200 and sse_events(reply.body)[-1][0] == "done"
                if not ok:
                    failure = f"{reply.status} {reply.body[:200]!r}"
            except OSError as exc:
                failure = repr(exc)
            self.results.append((started, failure))
            time.sleep(0.02)


def test_a_rolling_restart_loses_no_request_and_every_stream_ends_with_done(
    cluster: Cluster,
) -> None:
    # Ten users with two streams each (the per-user cap), and one for the steady traffic.
    tokens = [cluster.sign_in(f"rolling-{n}")[0] for n in range(10)]
    traffic = Traffic(cluster, cluster.sign_in("rolling-traffic")[0])
    traffic.start()
    streams: list[Stream] = []
    try:
        for victim in ("i0", "i1"):
            batch = [Stream(cluster, token) for token in tokens for _ in range(2)]
            for stream in batch:
                stream.start()
            time.sleep(1)  # every stream open, none finished
            assert all("done" not in stream.events for stream in batch)
            service = cluster[victim].service
            assert service.stop() == 0, service.log()  # SIGTERM: drains, exits 0
            cluster.restart(victim)
            for stream in batch:
                stream.join(60)
            streams += batch
    finally:
        traffic.stop.set()
        traffic.join(30)
    finished = sum(stream.events[-1:] == ["done"] for stream in streams)
    print(
        f"rolling restart: {traffic.sent} requests sent, {len(traffic.failed())} failed;"
        f" {finished}/{len(streams)} streams finished with done"
    )
    assert traffic.failed() == []
    assert [s.events[-2:] for s in streams if s.events[-1:] != ["done"]] == []
    assert {stream.served_by for stream in streams} == {"i0", "i1"}


def test_with_the_cap_at_2_a_third_stream_is_refused_on_either_instance(
    cluster: Cluster,
) -> None:
    token, _ = cluster.sign_in("capped")
    open_streams = [Stream(cluster, token) for _ in range(2)]
    for stream in open_streams:
        stream.start()
    time.sleep(0.5)  # both streaming (~3 s each)
    refused = [cluster.chat(token, "one too many") for _ in range(4)]
    assert all(stream.is_alive() for stream in open_streams), "streams ended too soon"
    assert [r.status for r in refused] == [429] * 4, [r.body for r in refused]
    assert all(1 <= int(r.headers["retry-after"]) <= 10 for r in refused)
    assert all(b"at most 2" in r.body for r in refused)
    # Round-robin sent the refused requests to both instances.
    assert {r.served_by for r in refused} == {"i0", "i1"}
    for stream in open_streams:
        stream.join(60)
    assert [s.events[-1:] for s in open_streams] == [["done"], ["done"]]
    # The slots came back: the next stream is served.
    accepted = cluster.chat(token, "now there is room")
    assert accepted.status == 200 and sse_events(accepted.body)[-1][0] == "done"


def test_a_killed_instance_is_taken_out_and_requests_keep_succeeding(
    cluster: Cluster,
) -> None:
    token, _ = cluster.sign_in("survivor")
    traffic = Traffic(cluster, token)
    traffic.start()
    time.sleep(1)
    cluster.kill("i1")
    # Once kill() returns, the instance is gone: what is sent from here on never reaches
    # it. A request sent just before could still be in flight there when it died.
    killed_at = time.monotonic()
    took = cluster.proxy.wait_for("i1", "DOWN")
    time.sleep(1)
    traffic.stop.set()
    traffic.join(30)
    print(
        f"killed instance out after {took:.1f} s; {traffic.sent} requests,"
        f" {len(traffic.failed())} failed (cut while in flight on the killed instance)"
    )
    # A request the killed instance was answering is lost with it (the traffic sends one
    # at a time, so at most one); every request sent after the kill succeeds.
    assert len(traffic.failed()) <= 1
    assert traffic.failed(since=killed_at) == []
    assert {call(cluster.port, "GET", "/health").served_by for _ in range(4)} == {"i0"}
    cluster.restart("i1")  # leave the cluster whole


def test_an_instance_whose_pools_cannot_fit_the_database_refuses_to_start(
    project: Project, backend_python: Path
) -> None:
    # Pools as large as the whole server's limit cannot fit: refused before migrating.
    limit = int(str(query(backend_python, f"{POSTGRES}/test", "SHOW max_connections")[0][0]))
    with postgres_database(backend_python) as database_url:
        env = backend_env(
            backend_python,
            ENVIRONMENT="test",
            DATABASE_URL=database_url,
            DB_POOL_SIZE=str(limit),
            WEB_CONCURRENCY="2",
            PORT=str(free_port()),
        )
        result = subprocess.run(
            ["gunicorn", "main:app", "--workers", "2", "--bind", f"127.0.0.1:{env['PORT']}"],
            cwd=project.path / "backend",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "Refusing to start" in result.stderr + result.stdout, result.stderr
        assert f"max_connections {limit}" in result.stderr + result.stdout
        # Refused before it migrated: the database is still empty.
        assert query(backend_python, database_url, "SELECT to_regclass('alembic_version')") == [
            [None]
        ]
