"""Gunicorn reads this file from the working directory; the start command's flags add to
it. It runs in the master process, before any worker exists."""

from app.core.config import get_settings, validate_required
from app.db import migrate

# Import the app once in the master; the forked workers share those pages, which about
# halves each worker's real memory (the app opens no connection before it serves).
preload_app = True

# Gunicorn's runtime control socket lives at one path per user, which instances sharing a
# host would fight over; the platforms manage the process with signals instead.
control_socket_disable = True


def on_starting(server: object) -> None:
    # Once per instance, not once per worker: refuse a production start that lacks
    # settings, then bring the schema up to date (an advisory lock in migrations/env.py
    # serialises this with other instances and the platform's pre-deploy command).
    validate_required(get_settings(), under_gunicorn=True)
    migrate()
