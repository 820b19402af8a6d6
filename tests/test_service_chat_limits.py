"""The chat limits under the generated backend's real start command (Gunicorn, 2 workers)
on Postgres: the cap on open streams holds across workers, counted in the database, and
a client cannot escape it with an X-Forwarded-For of its own."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.backend import backend_env, postgres_database, start_command
from harness.project import Project
from harness.service import Service

pytestmark = pytest.mark.slow

# The offline provider sends a word every 10 ms: ~3 s a stream, so all ten requests
# arrive while the first two still stream.
LONG_MESSAGE = " ".join(["word"] * 300)
CAP = 2


@pytest.fixture(scope="module")
def chat_project(render: Callable[..., Project]) -> Project:
    # Chat without sign-in: the limits count per client address.
    return render({"integrations": ["anthropic"], "workers": 2})


class Chat(threading.Thread):
    """One POST /api/chat/stream, sent when `go` is set, read to the end."""

    def __init__(self, port: int, go: threading.Event, forwarded_for: str) -> None:
        super().__init__(daemon=True)
        self.port, self.go, self.forwarded_for = port, go, forwarded_for
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.connect()
        self.go.wait(30)
        payload = json.dumps({"message": LONG_MESSAGE})
        headers = {"Content-Type": "application/json", "X-Forwarded-For": self.forwarded_for}
        connection.request("POST", "/api/chat/stream", payload, headers)
        response = connection.getresponse()
        self.status = response.status
        self.headers = {key.lower(): value for key, value in response.getheaders()}
        self.body = response.read()
        connection.close()

    @property
    def events(self) -> list[str]:
        return [line[7:] for line in self.body.decode().splitlines() if line.startswith("event: ")]


def test_ten_streams_at_once_from_one_client_across_two_workers_get_exactly_the_cap(
    chat_project: Project, backend_python: Path, tmp_path: Path
) -> None:
    with postgres_database(backend_python) as database_url:
        env = backend_env(
            backend_python,
            ENVIRONMENT="test",
            DATABASE_URL=database_url,
            CHAT_MAX_CONCURRENT_STREAMS=str(CAP),
            CHAT_REQUESTS_PER_MINUTE="1000",
        )
        backend = chat_project.path / "backend"
        command = start_command(chat_project.path)
        with Service(backend, command, backend_python, tmp_path, env=env).start(2) as service:
            go = threading.Event()
            # The platform's proxy appends the address it saw (203.0.113.5); each request
            # puts a different forged one before it, as a client trying its luck would.
            chats = [Chat(service.port, go, f"10.0.0.{n}, 203.0.113.5") for n in range(10)]
            for chat in chats:
                chat.start()
            go.set()
            for chat in chats:
                chat.join(60)
            served = [chat for chat in chats if chat.status == 200]
            refused = [chat for chat in chats if chat.status == 429]
            assert (len(served), len(refused)) == (CAP, 10 - CAP), [c.status for c in chats]
            assert all(chat.events[-1:] == ["done"] for chat in served)
            for chat in refused:
                assert 1 <= int(chat.headers["retry-after"]) <= 10
                assert f"at most {CAP}" in json.loads(chat.body)["detail"]
            # Both streams ended and gave their slots back.
            again = Chat(service.port, go, "203.0.113.5")
            again.run()
            assert again.status == 200 and again.events[-1:] == ["done"]
