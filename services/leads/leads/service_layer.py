"""Lead use cases: each runs in one unit of work that changes state, writes the timeline and emits
the events (lead.* and audit.recorded) through the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from parley_calltime import canonical_zone, phone_country
from parley_contracts import (
    AuditRecorded,
    ConsentFlags,
    Event,
    LeadConsentChanged,
    LeadCreated,
    LeadDeleted,
    LeadSnapshot,
    LeadStatus,
    LeadTimezoneConfirmed,
    LeadUpdated,
    TimezoneSource,
)
from servicekit.auth import Principal
from servicekit.errors import Conflict, Forbidden, NotFound, Unprocessable
from servicekit.messaging import UnitOfWork

from .adapters import repository as repo
from .api.schemas import ActivityIn, LeadIn, LeadPatch
from .domain.csv_import import ParseResult
from .domain.rules import STATED_SOURCES, advanced_status, merge_consent, settle_timezone
from .domain.timeline import ActivityType, TimelineEntry

SERVICE = "leads"


def _audit(
    principal: Principal | None,
    action: str,
    lead_id: uuid.UUID,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditRecorded:
    return AuditRecorded(
        service=SERVICE,
        actor_id=principal.user_id if principal else None,
        actor_role=principal.role.value if principal else "SYSTEM",
        action=action,
        entity="lead",
        entity_id=str(lead_id),
        before=before,
        after=after,
    )


async def create_lead(uow: UnitOfWork, principal: Principal, data: LeadIn) -> LeadSnapshot:
    if data.assigned_agent_id and not principal.is_admin and data.assigned_agent_id != principal.user_id:
        raise Forbidden("Agents cannot assign leads to someone else.")
    owner = data.assigned_agent_id or (None if principal.is_admin else principal.user_id)
    conflict = await repo.find_contact_conflict(uow.session, phone=data.phone, email=data.email)
    if conflict:
        raise Conflict(f"A lead with this {conflict} already exists.", field=conflict)
    stamp = repo.now()
    lead = LeadSnapshot(
        id=uuid.uuid4(),
        **data.model_dump(exclude={"assigned_agent_id", "timezone"}),
        **settle_timezone(phone=data.phone, given=data.timezone, location=data.location),
        assigned_agent_id=owner,
        created_at=stamp,
        updated_at=stamp,
    )
    await repo.insert_leads(uow.session, [lead])
    await repo.add_activities(
        uow.session,
        [
            repo.activity_values(
                lead.id,
                ActivityType.LEAD,
                "Lead created",
                {"source": lead.source},
                actor_id=principal.user_id,
            )
        ],
    )
    await uow.emit(LeadCreated(lead=lead, actor_id=principal.user_id))
    await uow.emit(_audit(principal, "lead.created", lead.id, None, lead.model_dump(mode="json")))
    return lead


async def update_lead(
    uow: UnitOfWork, principal: Principal, lead_id: uuid.UUID, patch: LeadPatch
) -> LeadSnapshot:
    current = await repo.get_lead(uow.session, lead_id, principal, for_update=True)
    if current is None:
        raise NotFound("Lead not found.")
    changes = patch.model_dump(exclude_unset=True)
    reassigning = "assigned_agent_id" in changes and changes["assigned_agent_id"] != current.assigned_agent_id
    if reassigning and not principal.is_admin:
        raise Forbidden("Only admins assign leads.")
    for required in ("name", "phone", "status", "timezone", "preferred_time_windows", "consent_flags"):
        if required in changes and changes[required] is None:
            raise Unprocessable(
                f"{required} cannot be null.", errors=[{"loc": ["body", required], "msg": "null"}]
            )
    if "phone" in changes or "email" in changes:
        conflict = await repo.find_contact_conflict(
            uow.session, phone=changes.get("phone"), email=changes.get("email"), exclude_id=lead_id
        )
        if conflict:
            raise Conflict(f"Another lead already has this {conflict}.", field=conflict)
    if "consent_flags" in changes:
        c = patch.consent_flags
        assert c is not None
        changes["consent_flags"] = merge_consent(
            current.consent_flags, dnd=c.dnd, email_opt_out=c.email_opt_out, call_recording=c.call_recording
        )
    changes.update(_timezone_changes(current, changes))
    updated = current.model_copy(update={**changes, "updated_at": repo.now()})
    updated = LeadSnapshot.model_validate(updated.model_dump())
    before, after = current.model_dump(mode="json"), updated.model_dump(mode="json")
    changed = sorted(k for k in changes if before.get(k) != after.get(k))
    if not changed:
        return current
    await repo.update_lead(uow.session, updated)
    await _record_change(uow, principal, current, updated, changed, reason="edited")
    return updated


def _timezone_changes(current: LeadSnapshot, changes: dict[str, Any]) -> dict[str, Any]:
    """A timezone given now is settled; a new phone or location re-derives one nobody stated."""
    phone = changes.get("phone", current.phone)
    location = changes.get("location", current.location)
    if "timezone" in changes:
        return settle_timezone(phone=phone, given=changes["timezone"], location=location)
    if "phone" not in changes and "location" not in changes:
        return {}
    if current.timezone_source in STATED_SOURCES:
        return {"country": phone_country(phone)}
    fallback = current.timezone if current.timezone_source is TimezoneSource.FALLBACK else None
    return settle_timezone(phone=phone, given=None, location=location, fallback=fallback)


async def _record_change(
    uow: UnitOfWork,
    principal: Principal | None,
    before_lead: LeadSnapshot,
    after_lead: LeadSnapshot,
    changed: list[str],
    *,
    reason: str,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Timeline entries, lead.updated, lead.consent_changed and the audit record for one change."""
    before, after = before_lead.model_dump(mode="json"), after_lead.model_dump(mode="json")
    actor = principal.user_id if principal else None
    entries = []
    if "status" in changed:
        entries.append(
            repo.activity_values(
                after_lead.id,
                ActivityType.STATUS_CHANGE,
                f"Status {before_lead.status.value} → {after_lead.status.value}",
                {"from": before_lead.status.value, "to": after_lead.status.value, "reason": reason},
                actor_id=actor,
            )
        )
    if "assigned_agent_id" in changed:
        entries.append(
            repo.activity_values(
                after_lead.id,
                ActivityType.ASSIGNMENT,
                "Lead reassigned",
                {"from": before["assigned_agent_id"], "to": after["assigned_agent_id"]},
                actor_id=actor,
            )
        )
    if "consent_flags" in changed:
        entries.append(
            repo.activity_values(
                after_lead.id,
                ActivityType.CONSENT,
                _consent_summary(after_lead.consent_flags),
                {"from": before["consent_flags"], "to": after["consent_flags"], "reason": reason},
                actor_id=actor,
            )
        )
    await repo.add_activities(uow.session, entries)
    await uow.emit(
        LeadUpdated(lead=after_lead, changed=changed, before={k: before[k] for k in changed}, actor_id=actor)
    )
    if "consent_flags" in changed:
        await uow.emit(
            LeadConsentChanged(
                lead_id=after_lead.id,
                assigned_agent_id=after_lead.assigned_agent_id,
                consent_flags=after_lead.consent_flags,
                previous=before_lead.consent_flags,
                reason=reason,
                actor_id=actor,
            )
        )
    await uow.emit(
        _audit(
            principal,
            "lead.updated",
            after_lead.id,
            {k: before[k] for k in changed},
            {k: after[k] for k in changed},
        )
    )


def _consent_summary(flags: ConsentFlags) -> str:
    parts = [
        "do not call" if flags.dnd else "calls allowed",
        "email opted out" if flags.email_opt_out else "email allowed",
        "recording allowed" if flags.call_recording else "no recording",
    ]
    return "Consent: " + ", ".join(parts)


async def delete_lead(uow: UnitOfWork, principal: Principal, lead_id: uuid.UUID) -> None:
    current = await repo.get_lead(uow.session, lead_id, principal, for_update=True)
    if current is None:
        raise NotFound("Lead not found.")
    if not principal.is_admin:
        raise Forbidden("Only admins delete leads.")
    await repo.delete_lead(uow.session, lead_id)
    await uow.emit(
        LeadDeleted(lead_id=lead_id, assigned_agent_id=current.assigned_agent_id, actor_id=principal.user_id)
    )
    await uow.emit(_audit(principal, "lead.deleted", lead_id, current.model_dump(mode="json"), None))


async def add_manual_activity(
    uow: UnitOfWork, principal: Principal, lead_id: uuid.UUID, data: ActivityIn
) -> dict[str, Any]:
    if await repo.get_lead(uow.session, lead_id, principal) is None:
        raise NotFound("Lead not found.")
    values = repo.activity_values(
        lead_id, data.type, data.text[:500], {"text": data.text}, actor_id=principal.user_id
    )
    await repo.add_activities(uow.session, [values])
    return values


async def import_leads(
    uow: UnitOfWork, principal: Principal, parsed: ParseResult, owner: uuid.UUID | None
) -> int:
    stamp = repo.now()
    snapshots = [
        LeadSnapshot(
            id=uuid.uuid4(),
            # A file's own source column wins; rows without one came from "csv".
            **{**row.fields, "source": row.fields.get("source") or "csv"},
            status=LeadStatus.NEW,
            assigned_agent_id=owner,
            created_at=stamp,
            updated_at=stamp,
        )
        for row in parsed.leads
    ]
    await repo.insert_leads(uow.session, snapshots)
    await repo.add_activities(
        uow.session,
        [
            repo.activity_values(
                s.id,
                ActivityType.LEAD,
                "Lead imported from CSV",
                {"source": s.source},
                actor_id=principal.user_id,
                occurred_at=stamp,
            )
            for s in snapshots
        ],
    )
    await uow.emit_many([LeadCreated(lead=snapshot, actor_id=principal.user_id) for snapshot in snapshots])
    await uow.emit(
        AuditRecorded(
            service=SERVICE,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="lead.imported",
            entity="lead_import",
            entity_id=str(uuid.uuid4()),
            after={"imported": len(snapshots), "assigned_agent_id": str(owner) if owner else None},
        )
    )
    return len(snapshots)


async def record_timeline(uow: UnitOfWork, lead_id: uuid.UUID, event: Event, entry: TimelineEntry) -> None:
    """Fold another service's fact into the lead's timeline, moving its status forward if implied."""
    current = await repo.get_lead(uow.session, lead_id, for_update=True)
    if current is None:
        return  # the lead was deleted since; nothing to attach the fact to
    await repo.add_activities(
        uow.session,
        [
            repo.activity_values(
                lead_id,
                entry.type,
                entry.summary,
                entry.payload,
                source_event_id=event.event_id,
                occurred_at=event.occurred_at,
            )
        ],
    )
    if entry.reaches_status is None:
        return
    status = advanced_status(current.status, entry.reaches_status)
    if status is not current.status:
        updated = current.model_copy(update={"status": status, "updated_at": repo.now()})
        await repo.update_lead(uow.session, updated)
        await _record_change(uow, None, current, updated, ["status"], reason=event.subject)


async def apply_consent(
    uow: UnitOfWork,
    lead_id: uuid.UUID,
    *,
    dnd: bool | None,
    email_opt_out: bool | None,
    call_recording: bool | None,
    reason: str,
) -> LeadSnapshot | None:
    current = await repo.get_lead(uow.session, lead_id, for_update=True)
    if current is None:
        return None
    flags = merge_consent(
        current.consent_flags, dnd=dnd, email_opt_out=email_opt_out, call_recording=call_recording
    )
    if flags == current.consent_flags:
        return current
    updated = current.model_copy(update={"consent_flags": flags, "updated_at": repo.now()})
    await repo.update_lead(uow.session, updated)
    await _record_change(uow, None, current, updated, ["consent_flags"], reason=reason)
    return updated


async def capture_email(uow: UnitOfWork, lead_id: uuid.UUID, email: str, event: Event) -> None:
    current = await repo.get_lead(uow.session, lead_id, for_update=True)
    if current is None or (current.email or "").lower() == email.lower():
        return
    if await repo.find_contact_conflict(uow.session, phone=None, email=email, exclude_id=lead_id):
        await repo.add_activities(
            uow.session,
            [
                repo.activity_values(
                    lead_id,
                    ActivityType.NOTE,
                    "Email given on a call belongs to another lead; not saved",
                    {"email": email},
                    source_event_id=event.event_id,
                )
            ],
        )
        return
    updated = current.model_copy(update={"email": email.lower(), "updated_at": repo.now()})
    await repo.update_lead(uow.session, updated)
    await repo.add_activities(
        uow.session,
        [
            repo.activity_values(
                lead_id,
                ActivityType.LEAD,
                "Email captured during the call",
                {"email": email},
                source_event_id=event.event_id,
            )
        ],
    )
    await _record_change(uow, None, current, updated, ["email"], reason=event.subject)


async def confirm_timezone(
    uow: UnitOfWork, lead_id: uuid.UUID, timezone: str, event: LeadTimezoneConfirmed
) -> None:
    """The lead said on a call which zone they are in: that settles it, over any guess."""
    current = await repo.get_lead(uow.session, lead_id, for_update=True)
    zone = canonical_zone(timezone)
    if current is None:
        return
    if zone is None:
        await repo.add_activities(
            uow.session,
            [
                repo.activity_values(
                    lead_id,
                    ActivityType.NOTE,
                    f"Timezone named on the call is not a known zone ({timezone[:60]}); not saved",
                    {"timezone": timezone, "said": event.said},
                    source_event_id=event.event_id,
                )
            ],
        )
        return
    fields = settle_timezone(phone=current.phone, given=zone, location=current.location)
    fields["timezone_source"] = TimezoneSource.CONFIRMED_ON_CALL
    updated = current.model_copy(update={**fields, "updated_at": repo.now()})
    await repo.update_lead(uow.session, updated)
    await repo.add_activities(
        uow.session,
        [
            repo.activity_values(
                lead_id,
                ActivityType.LEAD,
                f"Timezone confirmed on the call: {zone}",
                {
                    "timezone": zone,
                    "said": event.said,
                    "call_id": str(event.call_id) if event.call_id else None,
                },
                source_event_id=event.event_id,
            )
        ],
    )
    changed = [key for key in fields if getattr(current, key) != getattr(updated, key)]
    await _record_change(uow, None, current, updated, changed or ["timezone_source"], reason=event.subject)
