"""Events for tests of the running service, and reading back what it published.

Published events are read from the stream's stored copy, so a duplicate the stream dropped
(same Nats-Msg-Id) is not counted twice."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import nats.errors
from parley_contracts import Event, LeadSnapshot, NeedsProfile, ProductUpserted, RecommendationsReady
from servicekit.bus import Bus

from .factories import sample_products, sample_recommendation

E = TypeVar("E", bound=Event)


def lead_snapshot(agent_id: uuid.UUID | None, **fields: Any) -> LeadSnapshot:
    data: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "Priya Raman",
        "phone": "+14155550123",
        "email": "priya@example.com",
        "timezone": "Asia/Kolkata",
        "assigned_agent_id": agent_id,
    }
    return LeadSnapshot.model_validate({**data, **fields})


def catalog_events() -> list[ProductUpserted]:
    """The sample catalog as the catalog service announces it."""
    return [ProductUpserted(product=product) for product in sample_products()]


def recommendation_for(
    lead_id: uuid.UUID, agent_id: uuid.UUID | None = None, call_id: uuid.UUID | None = None
) -> RecommendationsReady:
    """The sample recommendation (three catalog products) for a lead, as rag announces it."""
    return RecommendationsReady(
        lead_id=lead_id,
        call_id=call_id or uuid.uuid4(),
        assigned_agent_id=agent_id,
        needs=NeedsProfile(coverage_type=["term life", "health insurance"]),
        recommendation=sample_recommendation(sample_products()),
    )


async def stored_events(bus: Bus, event_type: type[E]) -> list[E]:
    """Every `event_type` event in its stream, oldest first, read with a throwaway consumer."""
    bare = event_type.subject
    subscription = await bus.js.pull_subscribe(bus.subject(bare), stream=bus.stream_name(bare))
    found: list[E] = []
    try:
        while True:
            try:
                batch = await subscription.fetch(100, timeout=0.2)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            for message in batch:
                found.append(event_type.model_validate_json(message.data))
                await message.ack()
    finally:
        await subscription.unsubscribe()


async def drained(bus: Bus, consumer: str, event_type: type[Event]) -> bool:
    """True once the durable `consumer` has been delivered, and has acked, everything in its stream."""
    info = await bus.js.consumer_info(bus.stream_name(event_type.subject), consumer)
    return info.num_pending == 0 and info.num_ack_pending == 0
