"""A chat reply cut off by its provider, against the real server: the generated backend
under its start command (Gunicorn, uvicorn workers) in production mode on Postgres, its
Anthropic SDK pointed at the generated fake Anthropic server (ANTHROPIC_BASE_URL), which
drops the connection mid-reply. The client must read an `error` event to the end of a
well-formed response, not a truncated one, and the reply's row must say what happened."""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.backend import backend_env, postgres_database, start_command
from harness.project import Project
from harness.proxy import sse_events
from harness.service import Service, free_port

CHAT_ONLY = {"integrations": ["anthropic"], "workers": 2}
STARTUP_SECONDS = 60

# The generated project's own fake (tests/chat/fake_anthropic.py), scripted to send two
# text deltas and then drop the connection.
FAKE_PROVIDER = """
import sys

import uvicorn

from tests.chat.fake_anthropic import DROP, FakeAnthropic, reply

fake = FakeAnthropic(reply("Hel", "lo", input_tokens=21)[:5] + [DROP])
uvicorn.run(fake.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

STORED_MESSAGES = """
import asyncio, json, sys

import asyncpg

async def main():
    connection = await asyncpg.connect(sys.argv[1])
    rows = await connection.fetch(
        "SELECT role, content, status, input_tokens, output_tokens FROM messages"
        " ORDER BY created_at"
    )
    await connection.close()
    print(json.dumps([dict(row) for row in rows]))

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def chat_project(render) -> Project:
    """Chat without sign-in, so a stream needs no token."""
    return render(CHAT_ONLY)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the fake provider exited {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("the fake provider did not start")


def stream_to_the_end(port: int, message: str) -> list[tuple[str, dict[str, object]]]:
    """POST a chat message and read the response to its end: a truncated chunked body
    raises http.client.IncompleteRead."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/chat/stream",
            body=json.dumps({"message": message}),
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        assert response.status == 200
        return sse_events(response.read())
    finally:
        connection.close()


@pytest.mark.slow
def test_a_provider_that_drops_mid_stream_ends_the_stream_with_an_error_and_a_failed_row(
    backend_python: Path, chat_project: Project, tmp_path: Path
) -> None:
    backend = chat_project.path / "backend"
    fake_port = free_port()
    fake = subprocess.Popen(
        [str(backend_python), "-c", FAKE_PROVIDER, str(fake_port)],
        cwd=backend,
        env=backend_env(backend_python, PYTHONPATH=str(backend)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(fake_port, fake)
        with postgres_database(backend_python) as database_url:
            env = backend_env(
                backend_python,
                ENVIRONMENT="production",
                SECRET_KEY=secrets.token_hex(32),
                DATABASE_URL=database_url,
                BACKEND_URL="https://api.product.test",
                CORS_ORIGINS="https://app.product.test",
                ANTHROPIC_API_KEY=f"sk-ant-test-{secrets.token_hex(16)}",
                ANTHROPIC_BASE_URL=f"http://127.0.0.1:{fake_port}",
            )
            question = f"A private question {secrets.token_hex(8)}"
            service = Service(
                backend, start_command(chat_project.path), backend_python, tmp_path, env=env
            )
            with service.start(2, timeout=STARTUP_SECONDS) as running:
                events = stream_to_the_end(running.port, question)
                stored = subprocess.run(
                    [str(backend_python), "-c", STORED_MESSAGES, database_url],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=60,
                ).stdout
            log = running.log()
    finally:
        fake.terminate()
        fake.wait(10)

    assert [name for name, _ in events] == ["start", "delta", "delta", "error"], log
    assert [data["text"] for name, data in events if name == "delta"] == ["Hel", "lo"]
    assert events[-1][1] == {"message": "The assistant is unavailable right now. Please try again."}
    assert json.loads(stored) == [
        {
            "role": "user",
            "content": question,
            "status": "complete",
            "input_tokens": None,
            "output_tokens": None,
        },
        # The text the client saw, and the usage the provider reported before it dropped.
        {
            "role": "assistant",
            "content": "Hello",
            "status": "failed",
            "input_tokens": 21,
            "output_tokens": 1,
        },
    ]
    # The cause is in the log, the question is not.
    assert "the provider failed: Anthropic: RemoteProtocolError" in log
    assert question not in log
