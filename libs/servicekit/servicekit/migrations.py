"""Alembic per service: each service keeps its migrations in `<pkg>/migrations` and calls
`run_migrations_env` from its env.py; `upgrade_to_head` runs them programmatically."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy.ext.asyncio import create_async_engine

from .db import is_sqlite


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade_to_head(script_location: Path, database_url: str) -> None:
    """Blocking; call from a thread when an event loop is running."""
    command.upgrade(alembic_config(script_location, database_url), "head")


async def upgrade_to_head_async(script_location: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, script_location, database_url)


def run_migrations_env(target_metadata: sa.MetaData) -> None:
    """Body of every service's migrations/env.py (online mode, async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: sa.Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite(url),
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=sa.pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
