"""Many calls ending at once: every one gets its needs and recommendation, none stalls or fails.

The regression: each `call.ended` handler held a write transaction (the inbox claim) through needs
extraction and the recommendation, which reads products through a second connection. With a pulled
batch handled concurrently on SQLite (one writer), the pool filled with handlers waiting for the write
lock while the one holding it waited for a connection: 30 s pool timeouts and "database is locked",
then retries. The burst runs on SQLite always, and on the configured server database too.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime

import pytest
from parley_contracts import CallEnded, Event, NeedsExtracted, RecommendationsReady, TranscriptLine
from prometheus_client import REGISTRY
from rag.adapters.tables import inbox, needs_records, recommendation_records
from servicekit.bus import DLQ_PREFIX, wait_for
from sqlalchemy import func, select

from .conftest import AGENT_ID, RagApp, tiny_catalog

pytestmark = pytest.mark.integration

BURST = 30
CONSUMER = "rag-call-ended"
# Generous: the burst takes a few seconds; the stall took 30 s (pool and lock timeouts) and more.
DEADLINE_SECONDS = 30.0

AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CALL = [
    TranscriptLine(speaker="bot", text="What kind of cover are you looking for?", at=AT),
    TranscriptLine(
        speaker="prospect",
        text="I'm 34, married with two kids, and I want term life cover for about $80 a month.",
        at=AT,
    ),
]


@pytest.fixture(params=["sqlite", "configured"])
async def burst_database(request, make_database, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'rag-burst.db'}"
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: the SQLite case is the configured one")
    return await make_database("rag")


def consumed(result: str) -> float:
    labels = {"service": "rag", "consumer": CONSUMER, "result": result}
    return REGISTRY.get_sample_value("parley_events_consumed_total", labels) or 0.0


async def count(app: RagApp, table, calls: list[CallEnded]) -> int:
    async with app.runtime.db.session() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(table)
            .where(table.c.call_id.in_([str(c.call_id) for c in calls]))
        )
    return int(found or 0)


async def stored_events(app: RagApp, event_type: type[Event]) -> int:
    bus = app.runtime.bus
    info = await bus.js.stream_info(bus.stream_name(event_type.subject), subjects_filter=">")
    return (info.state.subjects or {}).get(bus.subject(event_type.subject), 0)


async def dead_letters(app: RagApp) -> int:
    bus = app.runtime.bus
    info = await bus.js.stream_info(bus.stream_name(f"{DLQ_PREFIX}.x"))
    return info.state.messages


async def test_a_burst_of_ended_calls_is_handled_at_once_without_failures(make_rag, minilm, burst_database):
    async with make_rag(minilm, database_url=burst_database) as app:
        await app.index_products(*tiny_catalog().values())
        calls = [
            CallEnded(
                call_id=uuid.uuid4(),
                lead_id=uuid.uuid4(),
                assigned_agent_id=AGENT_ID,
                mode="simulated",
                outcome="ANSWERED",
                transcript=CALL,
            )
            for _ in range(BURST)
        ]
        retried, dead = consumed("retried"), consumed("dead_lettered")

        # All at once: the consumer pulls them in full batches, handled concurrently.
        await asyncio.gather(*(app.runtime.bus.publish_now(call) for call in calls))

        async def all_recommended() -> bool:
            return await count(app, recommendation_records, calls) == BURST

        finished = await wait_for(all_recommended, timeout=DEADLINE_SECONDS, interval=0.2)
        done = await count(app, recommendation_records, calls)
        assert finished, f"{done} of {BURST} calls recommended within {DEADLINE_SECONDS:.0f} s"
        # No handler failed (a pool timeout, "database is locked") and nothing went to the DLQ.
        assert consumed("retried") == retried and consumed("dead_lettered") == dead
        assert await dead_letters(app) == 0
        assert await count(app, needs_records, calls) == BURST

        await app.published()
        assert await stored_events(app, NeedsExtracted) == BURST
        assert await stored_events(app, RecommendationsReady) == BURST

        # Redelivered (same event id, a new message id as after the duplicate window): no second effect.
        again = calls[0]
        duplicates = consumed("duplicate")
        await app.runtime.bus.publish_raw(again.subject, again.to_json(), {"Nats-Msg-Id": uuid.uuid4().hex})

        async def seen_again() -> bool:
            return consumed("duplicate") > duplicates

        assert await wait_for(seen_again, timeout=10)
        async with app.runtime.db.session() as session:
            claims = await session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id == str(again.event_id))
            )
        assert claims == 1
        assert await count(app, recommendation_records, calls) == BURST
        await app.published()
        assert await stored_events(app, RecommendationsReady) == BURST
