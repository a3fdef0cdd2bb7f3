"""The bot's tools over NATS: rag answers `lookupProducts` by request/reply; the others are events
written to the outbox in the same transaction as the fact they record on the call's session."""

from __future__ import annotations

import json
from datetime import datetime

from parley_contracts import (
    RPC_LOOKUP_PRODUCTS,
    FollowupRequested,
    LeadEmailCaptured,
    LeadTimezoneConfirmed,
    LookupProductsRequest,
    NeedsProfile,
    Recommendation,
    SetLeadConsent,
    utcnow,
)
from servicekit.runtime import ServiceRuntime
from sqlalchemy.ext.asyncio import AsyncSession

from ..domain.call import CallContext
from ..domain.ports import EventLogEntry
from . import repository as repo


class ProductLookupFailed(RuntimeError):
    """rag answered with an error (the tool runner turns it into a polite spoken fallback)."""


class BusToolBackend:
    """`ToolBackend` for one service process; every method acts on the call's own lead only."""

    def __init__(self, runtime: ServiceRuntime, *, lookup_timeout_s: float) -> None:
        self._runtime = runtime
        self._lookup_timeout_s = lookup_timeout_s

    async def lookup_products(self, call: CallContext, needs: NeedsProfile) -> Recommendation:
        request = LookupProductsRequest(lead_id=call.lead_id, needs=needs, call_id=call.call_id)
        raw = await self._runtime.bus.request(RPC_LOOKUP_PRODUCTS, request, timeout=self._lookup_timeout_s)
        answer = json.loads(raw)
        if isinstance(answer, dict) and "error" in answer and "items" not in answer:
            raise ProductLookupFailed(str(answer["error"]))
        return Recommendation.model_validate(answer)

    async def save_email(self, call: CallContext, email: str) -> None:
        async with self._runtime.unit_of_work() as uow:
            await repo.update_session(uow.session, call.call_id, email_saved=email)
            await self._log(uow.session, call, "tool.saveEmail")
            await uow.emit(
                LeadEmailCaptured(
                    lead_id=call.lead_id,
                    email=email,
                    source="call",
                    call_id=call.call_id,
                    email_permission=True,
                )
            )

    async def schedule_follow_up(self, call: CallContext, at: datetime, note: str | None) -> None:
        async with self._runtime.unit_of_work() as uow:
            await repo.update_session(uow.session, call.call_id, follow_up_at=at)
            await self._log(uow.session, call, "tool.scheduleFollowUp")
            await uow.emit(
                FollowupRequested(
                    lead_id=call.lead_id,
                    assigned_agent_id=call.assigned_agent_id,
                    call_id=call.call_id,
                    at=at,
                    reason=note or "The prospect asked to be called back.",
                )
            )

    async def mark_do_not_call(self, call: CallContext) -> None:
        async with self._runtime.unit_of_work() as uow:
            await repo.update_session(uow.session, call.call_id, do_not_call=True)
            await repo.mark_lead_dnd(uow.session, call.lead_id)
            await self._log(uow.session, call, "tool.markDoNotCall")
            await uow.emit(
                SetLeadConsent(
                    lead_id=call.lead_id,
                    dnd=True,
                    reason="The prospect asked not to be called again during a call.",
                    source="voice-bridge",
                )
            )

    async def confirm_timezone(self, call: CallContext, timezone: str, said: str | None) -> None:
        async with self._runtime.unit_of_work() as uow:
            await self._log(uow.session, call, "tool.confirmTimezone")
            await uow.emit(
                LeadTimezoneConfirmed(
                    lead_id=call.lead_id, timezone=timezone, call_id=call.call_id, said=said
                )
            )

    @staticmethod
    async def _log(session: AsyncSession, call: CallContext, kind: str) -> None:
        entry = EventLogEntry(at=utcnow(), source="bridge", direction="internal", type=kind, data={})
        await repo.record_event(session, call.call_id, entry)
