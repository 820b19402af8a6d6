from __future__ import annotations

import httpx2

from app.core.config import Settings
from main import create_app


async def test_health_answers_without_touching_the_database(client: httpx2.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client: httpx2.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    # Nothing listens on port 9 of the loopback address: the connection is refused.
    settings = Settings(_env_file=None, database_url="postgresql://nobody@127.0.0.1:9/none")
    app = create_app(settings)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/health/ready")
        liveness = await client.get("/health")
    await app.state.engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert liveness.status_code == 200
