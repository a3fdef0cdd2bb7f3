"""Pytest fixtures for real infrastructure.

- NATS: `TEST_NATS_URL` when set, else an embedded `nats-server` (JetStream) for the session. Each test
  gets its own subject/stream namespace, deleted afterwards, so runs sharing a server never collide.
- Databases: `TEST_DATABASE_URL` (PostgreSQL) / `TEST_MYSQL_URL` (MariaDB) when set: every requested
  database is a fresh one created on that server and dropped afterwards; else SQLite files in tmp.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ..nats_server import EmbeddedNats
from .keys import KeyPair, generate_key_pair

DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_NATS_URL")
    if url:
        print(f"\n[servicekit] NATS under test: {url} (TEST_NATS_URL)")
        yield url
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats")).start()
    print(f"\n[servicekit] NATS under test: embedded nats-server at {server.url}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def bus_namespace(nats_url: str) -> AsyncIterator[str]:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    yield namespace
    await delete_namespace_streams(nats_url, namespace)


async def delete_namespace_streams(nats_url: str, namespace: str) -> None:
    """Remove every stream a test's bus namespace created."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        prefix = f"{namespace.upper()}_"
        for name in await js.streams_info():
            if name.config.name and name.config.name.startswith(prefix):
                await js.delete_stream(name.config.name)
    finally:
        await nc.close()


async def _create_database(server_url: str, name: str) -> str:
    url = make_url(server_url)
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f"CREATE DATABASE {name}"))
    finally:
        await admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_database(server_url: str, name: str) -> None:
    url = make_url(server_url)
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if url.get_backend_name() == "postgresql":
                await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                await conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        await admin.dispose()


@asynccontextmanager
async def database_factory(server_url: str | None, tmp_path: Path) -> AsyncIterator[DatabaseFactory]:
    """Makes fresh databases on `server_url` (SQLite files under `tmp_path` when None) and drops them
    afterwards; for fixtures of any scope."""
    created: list[str] = []

    async def make(label: str) -> str:
        if server_url is None:
            return f"sqlite+aiosqlite:///{tmp_path / f'{label}-{uuid.uuid4().hex[:6]}.db'}"
        name = f"t_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        url = await _create_database(server_url, name)
        created.append(name)
        return url

    try:
        yield make
    finally:
        for name in created:
            assert server_url is not None
            await _drop_database(server_url, name)


def database_backend() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    return make_url(url).get_backend_name() if url else "sqlite"


@pytest.fixture
async def make_database(tmp_path: Path) -> AsyncIterator[DatabaseFactory]:
    """Fresh database per call: PostgreSQL when TEST_DATABASE_URL is set, else SQLite."""
    async with database_factory(os.environ.get("TEST_DATABASE_URL"), tmp_path) as make:
        yield make


@pytest.fixture
async def make_mysql_database(tmp_path: Path) -> AsyncIterator[DatabaseFactory]:
    url = os.environ.get("TEST_MYSQL_URL")
    if not url:
        pytest.skip("TEST_MYSQL_URL is not set (the MySQL/MariaDB profile runs in CI)")
    async with database_factory(url, tmp_path) as make:
        yield make


@pytest.fixture(scope="session")
def jwt_keys() -> KeyPair:
    return generate_key_pair()


@asynccontextmanager
async def running(app: FastAPI, base_url: str = "http://testserver") -> AsyncIterator[httpx.AsyncClient]:
    """Run an app's lifespan (runtime start/stop) and give an in-process HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"servicekit: NATS={os.environ.get('TEST_NATS_URL') or 'embedded nats-server'}",
        f"servicekit: DATABASE={os.environ.get('TEST_DATABASE_URL') or 'sqlite (TEST_DATABASE_URL unset)'}",
        f"servicekit: MYSQL={os.environ.get('TEST_MYSQL_URL') or 'unset (MySQL-profile tests skip)'}",
    ]


@asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve an app with uvicorn on a loopback port (a free one unless given; lifespan included); yield
    its base URL. Give the port when the app must know its own URL before it starts (webhooks)."""
    import asyncio

    import uvicorn

    from ..nats_server import free_port

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
