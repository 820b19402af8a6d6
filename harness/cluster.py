"""Several instances of one generated backend on one Postgres database, behind HAProxy,
with the generated tests' fake OpenID Connect provider: what a platform runs when a
service is scaled out. Used by tests/test_scaling.py and bench/scaling.py."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlencode, urlsplit

from harness.backend import backend_env
from harness.proxy import HAProxy, Reply, call
from harness.service import Service, free_port, get

WORKERS = 2
APP_URL = "http://localhost:3000/"  # a local web app: an allowed redirect outside production
GOOGLE_CLIENT = ("scaling-client", "scaling-secret")

# The fake provider, run by the backend's own Python from the generated tests, plus one
# route for the harness: which account the next sign-in returns.
IDP_SCRIPT = """\
import sys

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.auth.fake_oidc import FakeOIDC

fake = FakeOIDC(sys.argv[2], sys.argv[3])


async def account(request: Request) -> JSONResponse:
    fake.account.update(await request.json())
    return JSONResponse(fake.account)


fake.app.add_route("/account", account, methods=["POST"])
uvicorn.run(fake.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

# The one thing that differs from production: Google's discovery URL points at the fake
# provider, exactly as the generated tests swap it (app/auth/oidc.py's OIDC_METADATA).
SITECUSTOMIZE = """\
import os
import sys

if os.environ.get("TEST_OIDC_METADATA"):
    sys.path.insert(0, os.getcwd())
    from app.auth import oidc

    oidc.OIDC_METADATA["google"] = os.environ["TEST_OIDC_METADATA"]
"""


@dataclass
class Instance:
    name: str
    service: Service


class Cluster:
    """`count` Gunicorn masters (WORKERS workers each) on their own loopback ports, one
    database, HAProxy in front. Instances start at the same moment."""

    def __init__(
        self,
        backend: Path,
        start_command: str,
        python: Path,
        database_url: str,
        workdir: Path,
        count: int = 2,
        **variables: str,
    ) -> None:
        self.backend = backend
        self.python = python
        self.database_url = database_url
        self.workdir = workdir
        self.idp_port = free_port()
        ports = [free_port() for _ in range(count)]
        self.proxy = HAProxy([(f"i{n}", port) for n, port in enumerate(ports)], workdir)
        site = workdir / "site"
        site.mkdir(exist_ok=True)
        (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (workdir / "fake_idp.py").write_text(IDP_SCRIPT)
        self.env = backend_env(
            python,
            ENVIRONMENT="test",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=database_url,
            # Every instance builds its callback URL from BACKEND_URL: the proxy's.
            BACKEND_URL=f"http://127.0.0.1:{self.proxy.port}",
            CORS_ORIGINS="",
            ANTHROPIC_API_KEY="",  # the offline provider: deterministic, paced streams
            GOOGLE_CLIENT_ID=GOOGLE_CLIENT[0],
            GOOGLE_CLIENT_SECRET=GOOGLE_CLIENT[1],
            TEST_OIDC_METADATA=f"http://127.0.0.1:{self.idp_port}/.well-known/openid-configuration",
            WEB_CONCURRENCY=str(WORKERS),
            INSTANCES=str(count),
            **variables,
        )
        self.instances = [
            Instance(f"i{n}", Service(backend, start_command, python, workdir, self.env, port))
            for n, port in enumerate(ports)
        ]
        for instance in self.instances:
            # Service drops PYTHONPATH from the environment; the site hook needs it.
            instance.service.env["PYTHONPATH"] = str(site)
        self.idp: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self.proxy.port

    def __getitem__(self, name: str) -> Instance:
        return next(instance for instance in self.instances if instance.name == name)

    def start(self, while_starting: Callable[[], None] | None = None) -> Cluster:
        """Everything, the instances at the same moment; `while_starting` runs while
        they start (the instances are ready only once it returns)."""
        # Without WEB_CONCURRENCY, which uvicorn.run() would read as a worker count.
        idp_env = {k: v for k, v in self.env.items() if k != "WEB_CONCURRENCY"}
        idp_env["PYTHONPATH"] = str(self.backend)
        idp_log = (self.workdir / "fake_idp.log").open("ab")
        self.idp = subprocess.Popen(
            [str(self.python), self.workdir / "fake_idp.py", str(self.idp_port), *GOOGLE_CLIENT],
            cwd=self.backend,
            env=idp_env,
            stdout=idp_log,
            stderr=subprocess.STDOUT,
        )
        # All instances at the same moment, as a platform starts a scaled-out deploy.
        with ThreadPoolExecutor(len(self.instances)) as pool:
            starting = [pool.submit(i.service.start, WORKERS) for i in self.instances]
            if while_starting is not None:
                while_starting()
            for future in starting:
                future.result()
        self._wait_for_idp()
        self.proxy.start()
        for instance in self.instances:
            self.proxy.wait_for(instance.name, "UP")
        return self

    def _wait_for_idp(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.idp_port}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            assert self.idp is not None and self.idp.poll() is None, "the fake provider exited"
            with contextlib.suppress(OSError):
                if get(url, timeout=2)[0] == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError("the fake identity provider did not start")

    def restart(self, name: str) -> None:
        """Start a stopped instance again on its port; until the proxy routes to it."""
        self[name].service.start(WORKERS)
        self.proxy.wait_for(name, "UP")

    def kill(self, name: str) -> None:
        """SIGKILL the whole instance, master and workers: a machine that vanishes."""
        service = self[name].service
        assert service.process is not None
        os.killpg(service.pid, signal.SIGKILL)
        service.process.wait(10)

    def logs(self) -> str:
        return "".join(instance.service.log() for instance in self.instances)

    def sign_in(self, subject: str = "user-1") -> tuple[str, list[str]]:
        """The whole OpenID Connect sign-in through the proxy, as a browser makes it, for
        the account `subject`: the session token and which instance served each step."""
        call(self.idp_port, "POST", "/account", {"sub": subject, "email": f"{subject}@example.com"})
        verifier = secrets.token_urlsafe(48)
        query = urlencode({"redirect_to": APP_URL, "code_challenge": challenge(verifier)})
        login = call(self.port, "GET", f"/api/auth/google/login?{query}")
        assert login.status == 302, login
        cookie = "; ".join(c.split(";", 1)[0] for c in login.set_cookies)
        consent = urlsplit(login.headers["location"])
        at_idp = call(self.idp_port, "GET", f"{consent.path}?{consent.query}")
        assert at_idp.status == 302, at_idp
        back = urlsplit(at_idp.headers["location"])
        callback = call(self.port, "GET", f"{back.path}?{back.query}", headers={"Cookie": cookie})
        assert callback.status == 302, callback
        target, _, fragment = callback.headers["location"].partition("#")
        assert target == APP_URL, callback.headers["location"]
        values = {key: value[0] for key, value in parse_qs(fragment).items()}
        served = [login.served_by, callback.served_by]
        if "token" in values:
            return values["token"], served
        assert "code" in values, fragment  # one-time code + PKCE: swap it for the token
        swap = {"code": values["code"], "code_verifier": verifier}
        exchange = call(self.port, "POST", "/api/auth/token", swap)
        assert exchange.status == 200, exchange
        return str(exchange.json()["access_token"]), [*served, exchange.served_by]

    def chat(self, token: str, message: str, conversation_id: str | None = None) -> Reply:
        return call(
            self.port,
            "POST",
            "/api/chat/stream",
            {"message": message, "conversation_id": conversation_id},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
            timeout=60,
        )

    def close(self) -> None:
        self.proxy.stop()
        for instance in self.instances:
            instance.service.__exit__(None, None, None)
        if self.idp is not None:
            self.idp.terminate()
            self.idp.wait(10)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def challenge(verifier: str) -> str:
    """PKCE S256: what the app sends at login for the verifier it keeps."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
