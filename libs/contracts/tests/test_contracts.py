"""Every payload round-trips; stored version-1 payloads still parse; unknown fields are tolerated."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from parley_contracts import (
    EVENT_TYPES,
    EVENTS_BY_SUBJECT,
    RPC_GATEWAY_SETTINGS,
    RPC_GATEWAY_USER,
    STREAMS,
    Event,
    GatewaySettingsReply,
    GatewaySettingsRequest,
    GatewayUserReply,
    GatewayUserRequest,
    LeadCreated,
    PremiumPeriod,
    PremiumRange,
    stream_for,
)
from pydantic import BaseModel, ValidationError

V1_SAMPLES = Path(__file__).parent / "v1"
# Request/reply payloads by subject: (request, reply). Their frozen samples are in v1/rpc.
RPC_PAYLOADS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    RPC_GATEWAY_SETTINGS: (GatewaySettingsRequest, GatewaySettingsReply),
    RPC_GATEWAY_USER: (GatewayUserRequest, GatewayUserReply),
}


def sample_value(annotation: Any, name: str) -> Any:
    """A minimal valid value for a field, built from its type, so new events are covered automatically."""
    import types
    import typing
    from enum import Enum

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return sample_value(next(a for a in args if a is not type(None)), name)
    if origin is typing.Literal:
        return args[0]
    if origin in (list, tuple):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation)).value
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {
            n: sample_value(f.annotation, n) for n, f in annotation.model_fields.items() if f.is_required()
        }
    if annotation is uuid.UUID:
        return str(uuid.uuid4())
    if annotation is bool:
        return True
    if annotation in (int, float):
        return 1
    if annotation is str:
        return "+14155550100" if name == "phone" else f"{name}-value"
    if "datetime" in str(annotation).lower():
        return datetime.now(UTC).isoformat()
    raise AssertionError(f"no sample for {annotation!r} ({name})")


def minimal(cls: type[Event]) -> dict[str, Any]:
    return {n: sample_value(f.annotation, n) for n, f in cls.model_fields.items() if f.is_required()}


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.subject)
def test_every_payload_round_trips(cls: type[Event]) -> None:
    event = cls.model_validate(minimal(cls))
    again = cls.from_json(event.to_json())
    assert again == event
    assert again.v == 1 and again.occurred_at.tzinfo is not None
    assert isinstance(again.event_id, uuid.UUID)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.subject)
def test_every_subject_has_a_stream(cls: type[Event]) -> None:
    assert stream_for(cls.subject).name in {s.name for s in STREAMS}
    assert EVENTS_BY_SUBJECT[cls.subject] is cls


def test_subjects_are_unique() -> None:
    assert len({c.subject for c in EVENT_TYPES}) == len(EVENT_TYPES)


@pytest.mark.parametrize("path", sorted(V1_SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_stored_version_1_payloads_still_parse(path: Path) -> None:
    """These files are frozen copies of payloads as first published; never edit them, add new ones."""
    stored = json.loads(path.read_text())
    cls = EVENTS_BY_SUBJECT[stored["subject"]]
    event = cls.model_validate(stored["payload"])
    assert str(event.event_id) == stored["payload"]["event_id"]


@pytest.mark.parametrize("path", sorted((V1_SAMPLES / "rpc").glob("*.json")), ids=lambda p: p.stem)
def test_stored_version_1_rpc_payloads_still_parse(path: Path) -> None:
    """Frozen request/reply pairs as first exchanged; never edit them, add new ones. Both sides parse,
    and a request is still written exactly as it was (a responder of that version reads it)."""
    stored = json.loads(path.read_text())
    request_type, reply_type = RPC_PAYLOADS[stored["subject"]]
    request = request_type.model_validate(stored["request"])
    assert request.model_dump(mode="json", exclude_unset=True) == stored["request"]
    reply = reply_type.model_validate(stored["reply"])
    assert reply.model_dump(mode="json", exclude_unset=True) == stored["reply"]


def test_gateway_settings_payloads() -> None:
    asked = GatewaySettingsRequest(keys=["openai_api_key", "openai_base_url"])
    assert json.loads(asked.model_dump_json()) == {"keys": ["openai_api_key", "openai_base_url"]}
    assert GatewaySettingsRequest.model_validate_json(b"{}").keys is None  # every setting
    reply = GatewaySettingsReply.model_validate({"values": {"smtp_port": 587}, "cached": True})
    assert reply.values == {"smtp_port": 587}
    with pytest.raises(ValidationError):  # what a responder that failed answers
        GatewaySettingsReply.model_validate_json(b'{"error": "OperationalError: database is locked"}')
    with pytest.raises(ValidationError):
        GatewaySettingsReply.model_validate({"values": ["openai_api_key"]})


def test_newer_producers_fields_are_ignored_by_older_consumers() -> None:
    payload = LeadCreated.model_validate(minimal(LeadCreated)).model_dump(mode="json")
    payload["v"] = 2
    payload["lead"]["favourite_colour"] = "teal"
    payload["brand_new_field"] = {"nested": True}
    event = LeadCreated.model_validate(payload)
    assert event.v == 2 and not hasattr(event, "brand_new_field")


def test_invalid_payloads_are_rejected() -> None:
    with pytest.raises(ValidationError):
        LeadCreated.model_validate({"lead": {"id": "not-a-uuid", "name": "x", "phone": "+1"}})
    with pytest.raises(ValidationError):
        LeadCreated.model_validate(
            {"lead": minimal(LeadCreated)["lead"], "occurred_at": "2026-01-01T00:00:00"}
        )


def test_premiums_compare_monthly() -> None:
    assert PremiumRange(min=120, max=240, period=PremiumPeriod.YEARLY).monthly() == (10, 20)
    assert PremiumRange(min=30, max=60, period=PremiumPeriod.QUARTERLY).monthly() == (10, 20)
