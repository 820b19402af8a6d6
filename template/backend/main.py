"""The ASGI app: `gunicorn main:app` in production, `uvicorn main:app --reload` locally."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app.api import health
from app.core import features
from app.core.config import Settings, get_settings, validate_required
from app.db import create_engine, create_sessionmaker, migrate

# Any port on these hosts: a browser on the developer's own machine.
LOCAL_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Under Gunicorn the master has already migrated, once, before it forked this worker
    # (gunicorn.conf.py). Under plain uvicorn (local development) this process is the
    # only one, so it migrates here: a fresh SQLite file gets its schema on first start.
    if "gunicorn" not in sys.modules:
        await asyncio.to_thread(migrate, app.state.settings.sqlalchemy_database_url)
    yield
    if features.AI_CHAT:
        await app.state.chat_provider.aclose()
    await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    validate_required(settings)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
        )

    app = FastAPI(
        title=features.PROJECT_NAME,
        lifespan=lifespan,
        # The interactive docs are for developers; production serves the API alone.
        docs_url=None if settings.is_production else "/docs",
        redoc_url=None,
        openapi_url=None if settings.is_production else "/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = create_engine(settings.sqlalchemy_database_url)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)

    app.include_router(health.router)
    chat_dependencies = []
    if features.OAUTH_PROVIDERS:
        from app.api import auth

        app.state.oauth = auth.build_oauth(settings)
        app.include_router(auth.router)
        # With sign-in on, chat is for signed-in users only.
        chat_dependencies.append(Depends(auth.current_user))
        # Holds the OAuth state between login and callback: signed, short-lived.
        app.add_middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="sign_in",
            max_age=600,
            https_only=settings.is_production,
        )
    if features.AI_CHAT:
        from app.api import chat

        app.state.chat_provider = chat.provider_from_settings(settings)
        app.include_router(chat.router, dependencies=chat_dependencies)

    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_origin_regex=None if settings.is_production else LOCAL_ORIGINS,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    if settings.is_production:
        # Outside production any host name works, e.g. the laptop's LAN address for a phone.
        hosts = [urlsplit(settings.backend_url).hostname or "", "localhost", "127.0.0.1"]
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=hosts + list(features.PLATFORM_HOSTS)
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # The server logs the traceback; the client only learns that something failed.
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)

    return app


app = create_app()
