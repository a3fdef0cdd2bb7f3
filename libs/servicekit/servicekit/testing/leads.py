"""A stand-in for the leads service's `rpc.leads.snapshot`, for tests of a service's read-your-writes
(a lead whose lead.created has not reached its projection yet)."""

from __future__ import annotations

import uuid

from nats.aio.msg import Msg
from parley_contracts import RPC_LEADS_SNAPSHOT, LeadSnapshot, LeadSnapshotReply, LeadSnapshotRequest

from ..runtime import ServiceRuntime


async def answer_lead_snapshots(runtime: ServiceRuntime, *leads: LeadSnapshot) -> list[uuid.UUID]:
    """Answer `rpc.leads.snapshot` on the service's bus as leads would, knowing only `leads` (no lead
    for any other id). Returns the ids asked for, appended as the requests arrive."""
    known = {lead.id: lead for lead in leads}
    asked: list[uuid.UUID] = []

    async def answer(msg: Msg) -> None:
        request = LeadSnapshotRequest.model_validate_json(msg.data)
        asked.append(request.lead_id)
        await msg.respond(LeadSnapshotReply(lead=known.get(request.lead_id)).model_dump_json().encode())

    # The bus's own `respond` registers before the service starts; this test double joins later.
    await runtime.bus.nc.subscribe(runtime.bus.subject(RPC_LEADS_SNAPSHOT), cb=answer)
    return asked
