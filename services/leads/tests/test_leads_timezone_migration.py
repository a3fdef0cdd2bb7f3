"""Revision 0002: leads whose timezone was defaulted to UTC get their real one and are re-announced."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from leads.main import definition
from servicekit.migrations import alembic_config
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.integration


def _row(phone: str, timezone: str, location: str | None = None) -> dict[str, object]:
    stamp = datetime(2026, 11, 1, tzinfo=UTC)
    return {
        "id": str(uuid.uuid4()),
        "name": f"Lead {phone}",
        "phone": phone,
        "location": location,
        "status": "NEW",
        "preferred_time_windows": [],
        "timezone": timezone,
        "consent_flags": {"dnd": False, "email_opt_out": False, "call_recording": False},
        "created_at": stamp,
        "updated_at": stamp,
    }


async def test_defaulted_utc_leads_get_real_timezones_and_explicit_ones_stay(make_database):
    url = await make_database("leads_migration")
    config = alembic_config(definition.migrations, url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    rows = {
        "new_york": _row("+12125550161", "UTC"),
        "london": _row("+442079460061", "UTC"),
        "perth": _row("+61412345661", "UTC", location="Perth, Western Australia"),
        "nowhere": _row("+80012345661", "UTC"),
        "paris_given": _row("+12125550162", "Europe/Paris"),
    }
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM outbox"))
            table = await connection.run_sync(
                lambda sync: sa.Table("leads", sa.MetaData(), autoload_with=sync)
            )
            await connection.execute(table.insert(), list(rows.values()))

        await asyncio.to_thread(command.upgrade, config, "head")

        async with engine.connect() as connection:
            table = await connection.run_sync(
                lambda sync: sa.Table("leads", sa.MetaData(), autoload_with=sync)
            )
            stored = {r["phone"]: r for r in (await connection.execute(sa.select(table))).mappings().all()}
            outbox = (
                await connection.execute(sa.text("SELECT subject, payload FROM outbox ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()

    def zone(name: str) -> tuple[str, str, list[str]]:
        row = stored[rows[name]["phone"]]
        candidates = row["timezone_candidates"]
        if isinstance(candidates, str):  # JSON columns come back as text on some drivers
            candidates = json.loads(candidates)
        return row["timezone"], row["timezone_source"], candidates

    assert zone("new_york") == ("America/New_York", "from_phone", ["America/New_York"])
    assert zone("london") == ("Europe/London", "from_phone", ["Europe/London"])
    assert zone("perth") == ("Australia/Perth", "from_location", ["Australia/Perth"])
    assert zone("nowhere") == ("UTC", "unknown", [])
    assert zone("paris_given") == ("Europe/Paris", "given", ["Europe/Paris"])

    # Every lead is re-announced so the scheduler re-plans and projections learn the new fields.
    events = [json.loads(bytes(payload)) for subject, payload in outbox if subject == "lead.updated"]
    assert len(events) == len(rows)
    by_phone = {event["lead"]["phone"]: event for event in events}
    new_york = by_phone["+12125550161"]
    assert new_york["lead"]["timezone"] == "America/New_York"
    assert new_york["lead"]["timezone_candidates"] == ["America/New_York"]
    assert new_york["lead"]["country"] == "US"
    assert "timezone" in new_york["changed"] and new_york["before"]["timezone"] == "UTC"
    assert "timezone" not in by_phone["+12125550162"]["changed"]
