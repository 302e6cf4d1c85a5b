"""Test fixtures: the real PostgreSQL (embedded, or the server in DATABASE_URL), the real app over HTTP.

One database per run (`jizuo_test`), migrated and seeded with a small demo district once; every test runs
inside a transaction that is rolled back, so tests see the seed and never each other.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("JIZUO_DATA_DIR", str(ROOT / ".jizuo-test"))
os.environ.setdefault("JIZUO_DEMO_RESIDENTS", "400")

import httpx  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker  # noqa: E402

from jizuo.api.app import create_app  # noqa: E402
from jizuo.core.config import get_settings  # noqa: E402
from jizuo.core.db import make_engine, resolve_database_url  # noqa: E402
from jizuo.core.security import get_field_cipher  # noqa: E402
from jizuo.migrations import upgrade_to_head  # noqa: E402
from jizuo.platform.demo.seed import seed_demo_district  # noqa: E402

TEST_DATABASE = "jizuo_test"
DEMO_PASSWORD = "Jizuo@2026"


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server behind `server_url`; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlparse(server_url)._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def server_url() -> str:
    return resolve_database_url(get_settings())


@pytest.fixture(scope="session")
def database_url(server_url: str) -> str:
    url = fresh_database(server_url, TEST_DATABASE)
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=4)
    settings = get_settings()
    async with AsyncSession(engine) as db:
        await seed_demo_district(db, get_field_cipher(), seed=settings.demo_seed,
                                 residents=settings.demo_residents)
        await db.commit()
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions commit to savepoints of the test's transaction, so the app's commits are real to it.
    return async_sessionmaker(bind=connection, expire_on_commit=False, autoflush=False,
                              join_transaction_mode="create_savepoint")


@pytest.fixture
async def db(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(get_settings(), sessionmaker=sessionmaker)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


TokenFor = Callable[[str], Awaitable[str]]


@pytest.fixture
def token_for(client: httpx.AsyncClient) -> TokenFor:
    async def sign_in(username: str, password: str = DEMO_PASSWORD) -> str:
        response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    return sign_in


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- A real server process, for clients that speak HTTP over a socket (fhirpy, the browser) ---------------

LIVE_DATABASE = "jizuo_live"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(server_url: str) -> Iterator[str]:
    """`jizuo serve` in a subprocess on its own seeded database; yields its base URL."""
    import subprocess
    import sys
    import time

    url = fresh_database(server_url, LIVE_DATABASE)
    env = {**os.environ, "DATABASE_URL": url, "JIZUO_DEMO_RESIDENTS": "300", "JIZUO_LOG_LEVEL": "warning"}
    jizuo = [sys.executable, "-m", "jizuo.cli"]
    subprocess.run([*jizuo, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*jizuo, "demo-seed"], env=env, check=True, capture_output=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env["JIZUO_ISSUER"] = base
    server = subprocess.Popen([*jizuo, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise RuntimeError("live server did not start")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
