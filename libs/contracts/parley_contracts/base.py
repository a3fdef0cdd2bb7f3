"""Event envelope shared by every Parley event.

Rules that keep the contracts backward compatible:
- every payload carries `v`; a new field is always optional (or has a default), so version-1
  producers' messages keep parsing;
- unknown fields are ignored on read, so an old consumer reads a newer producer's payload;
- subjects never change meaning; a breaking change is a new subject.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """A value object inside an event: ignores unknown fields so newer producers stay readable."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TraceContext(Contract):
    """W3C trace context, carried in the payload as well as in NATS headers."""

    traceparent: str | None = None
    tracestate: str | None = None


class Event(Contract):
    """Base of every event. Subclasses set `subject` (without any deployment namespace)."""

    subject: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    v: int = 1
    trace: TraceContext | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        return cls.model_validate_json(data)
