from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import sqlalchemy as sa
from servicekit.db import Database


@pytest.fixture
async def make_tables_database(
    make_database,
) -> AsyncIterator[Callable[[str, sa.MetaData], Awaitable[Database]]]:
    """A fresh database (see `make_database`) holding the tables of `metadata`, disposed afterwards."""
    opened: list[Database] = []

    async def make(label: str, metadata: sa.MetaData) -> Database:
        database = Database(await make_database(label))
        opened.append(database)
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        return database

    yield make
    for database in opened:
        await database.dispose()
