"""In-memory implementations of the bridge's ports that record what they were asked to do."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

from parley_contracts import NeedsProfile, Recommendation, RecommendedProduct, TranscriptLine

from ..domain.call import CallContext
from ..domain.ports import EventLogEntry


class InMemoryCallJournal:
    def __init__(self) -> None:
        self.lines: list[TranscriptLine] = []
        self.events: list[EventLogEntry] = []

    async def record_transcript_line(self, call: CallContext, line: TranscriptLine) -> None:
        self.lines.append(line)

    async def record_event(self, call: CallContext, entry: EventLogEntry) -> None:
        self.events.append(entry)

    def event_types(self) -> list[str]:
        return [entry.type for entry in self.events]


@dataclass(frozen=True)
class ToolInvocation:
    tool: str
    call: CallContext
    arguments: dict[str, Any]


def sample_recommendation() -> Recommendation:
    return Recommendation(
        items=[
            RecommendedProduct(
                product_id=uuid4(),
                name="SecureLife Term 20",
                category_name="Term life",
                insurer="Acme Life",
                score=0.91,
                rationale="Level cover for 20 years within the stated budget.",
                key_benefits=["Fixed premium", "Terminal illness benefit"],
            )
        ],
        narrative="One term plan fits the budget.",
    )


@dataclass
class ScriptedToolBackend:
    """A `ToolBackend` that records invocations. Per tool it can fail (raise) or stall (delay)."""

    recommendation: Recommendation = field(default_factory=sample_recommendation)
    failures: dict[str, BaseException] = field(default_factory=dict)
    delays_s: dict[str, float] = field(default_factory=dict)
    invocations: list[ToolInvocation] = field(default_factory=list)

    async def lookup_products(self, call: CallContext, needs: NeedsProfile) -> Recommendation:
        await self._invoke("lookup_products", call, {"needs": needs})
        return self.recommendation

    async def save_email(self, call: CallContext, email: str) -> None:
        await self._invoke("save_email", call, {"email": email})

    async def schedule_follow_up(self, call: CallContext, at: datetime, note: str | None) -> None:
        await self._invoke("schedule_follow_up", call, {"at": at, "note": note})

    async def mark_do_not_call(self, call: CallContext) -> None:
        await self._invoke("mark_do_not_call", call, {})

    async def confirm_timezone(self, call: CallContext, timezone: str, said: str | None) -> None:
        await self._invoke("confirm_timezone", call, {"timezone": timezone, "said": said})

    async def _invoke(self, tool: str, call: CallContext, arguments: dict[str, Any]) -> None:
        self.invocations.append(ToolInvocation(tool, call, arguments))
        if (delay := self.delays_s.get(tool)) is not None:
            await asyncio.sleep(delay)
        if (failure := self.failures.get(tool)) is not None:
            raise failure
