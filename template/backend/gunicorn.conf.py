"""Every Gunicorn setting, in the file Gunicorn reads from the working directory, so that
the start command is only `gunicorn main:app` everywhere. It runs in the master process,
before any worker exists. GUNICORN_CMD_ARGS or flags on the command line still override
any of these (`gunicorn main:app --bind 127.0.0.1:8000`)."""

import os

from gunicorn.arbiter import Arbiter

from app.core import features
from app.core.config import get_settings, validate_required
from app.db import check_connection_budget, migrate

# Uvicorn's worker for Gunicorn (uvicorn-worker; the old one is deprecated), with bounded
# request heads and no server banner: app/server.py.
worker_class = "app.server.Worker"

# The answered count per instance; WEB_CONCURRENCY sets it for a bigger instance size.
workers = int(os.environ.get("WEB_CONCURRENCY") or features.WORKERS)

# Render and Railway route to PORT on every interface; 8000 when run by hand.
bind = f"0.0.0.0:{os.environ.get('PORT') or 8000}"

# With Uvicorn workers this only restarts a worker whose event loop is blocked this long.
timeout = features.TIMEOUT_SECONDS

# A stop lets open requests finish, within Render's 30 s before it sends SIGKILL.
graceful_timeout = 25

# Longer than the platforms' proxies keep an idle connection open, so we never close first.
keepalive = 75

# The platform's proxy is the only way in: trust its X-Forwarded-* (scheme, client address).
forwarded_allow_ips = "*"

# One request per line on stdout, where the platforms collect logs.
accesslog = "-"

# Import the app once in the master; the forked workers share those pages, which about
# halves each worker's real memory (the app opens no connection before it serves).
preload_app = True

# Gunicorn's runtime control socket lives at one path per user, which instances sharing a
# host would fight over; the platforms manage the process with signals instead.
control_socket_disable = True


def on_starting(server: Arbiter) -> None:
    # Once per instance, not once per worker: refuse a production start that lacks
    # settings, or whose workers' pools could exceed the database's max_connections,
    # then bring the schema up to date (an advisory lock in migrations/env.py
    # serialises this with other instances and the platform's pre-deploy command).
    validate_required(get_settings(), under_gunicorn=True)
    check_connection_budget(get_settings(), server.cfg.workers)
    migrate()
