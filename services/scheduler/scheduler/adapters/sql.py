"""Small SQL helpers shared by the scheduler's adapters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.engine import CursorResult, Result


def as_utc(value: datetime) -> datetime:
    # SQLite and MariaDB hand back naive datetimes for timezone-aware columns; all we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rows_changed(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE matched (the session API types its result as a plain `Result`)."""
    return cast(CursorResult[Any], result).rowcount
