"""How other services' facts appear on a lead's timeline, and which pipeline status they imply."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parley_contracts import (
    CallEnded,
    CallOutcome,
    CallStarted,
    DialingChanged,
    EmailFailed,
    EmailSent,
    Event,
    FollowupRequested,
    LeadStatus,
    NeedsExtracted,
    ProspectusFailed,
    ProspectusGenerated,
    RecommendationsReady,
    TaskCanceled,
    TaskCompleted,
    TaskScheduled,
)


class ActivityType(StrEnum):
    NOTE = "NOTE"
    CALL = "CALL"
    EMAIL = "EMAIL"
    STATUS_CHANGE = "STATUS_CHANGE"
    ASSIGNMENT = "ASSIGNMENT"
    CONSENT = "CONSENT"
    LEAD = "LEAD"
    NEEDS = "NEEDS"
    RECOMMENDATION = "RECOMMENDATION"
    PROSPECTUS = "PROSPECTUS"
    TASK = "TASK"


# Kinds a person may add by hand through the API; the rest come from the system.
MANUAL_TYPES = (ActivityType.NOTE, ActivityType.CALL)


@dataclass(frozen=True)
class TimelineEntry:
    type: ActivityType
    summary: str
    payload: dict[str, Any]
    reaches_status: LeadStatus | None = None


def entry_for(event: Event) -> TimelineEntry | None:
    """Map an event to its timeline entry (None: the event is not shown)."""
    match event:
        case CallStarted():
            return TimelineEntry(
                ActivityType.CALL,
                f"{'Simulated' if event.mode == 'simulated' else 'Phone'} call started ({event.direction})",
                {"call_id": str(event.call_id), "mode": event.mode, "direction": event.direction},
            )
        case CallEnded():
            reached = LeadStatus.CONTACTED if event.outcome in _REACHED else None
            return TimelineEntry(
                ActivityType.CALL,
                f"Call ended: {event.outcome.value.replace('_', ' ').lower()}"
                f" after {round(event.duration_seconds)} s",
                {
                    "call_id": str(event.call_id),
                    "outcome": event.outcome.value,
                    "duration_seconds": event.duration_seconds,
                    "summary": event.summary,
                    "transcript_lines": len(event.transcript),
                },
                reached,
            )
        case NeedsExtracted():
            cover = ", ".join(event.needs.coverage_type) or "unspecified cover"
            return TimelineEntry(
                ActivityType.NEEDS,
                f"Needs identified: {cover}",
                {
                    "call_id": _str(event.call_id),
                    "needs": event.needs.model_dump(mode="json"),
                    "extractor": event.extractor,
                },
            )
        case RecommendationsReady():
            rec = event.recommendation
            summary = (
                "No suitable product found"
                if rec.nothing_fits
                else "Recommended: " + ", ".join(item.name for item in rec.items)
            )
            return TimelineEntry(
                ActivityType.RECOMMENDATION,
                summary,
                {
                    "call_id": _str(event.call_id),
                    "product_ids": [str(item.product_id) for item in rec.items],
                    "nothing_fits": rec.nothing_fits,
                },
                None if rec.nothing_fits else LeadStatus.QUALIFIED,
            )
        case ProspectusGenerated():
            return TimelineEntry(
                ActivityType.PROSPECTUS,
                f"Prospectus v{event.version} generated",
                {
                    "prospectus_id": str(event.prospectus_id),
                    "version": event.version,
                    "product_ids": [str(p) for p in event.product_ids],
                },
            )
        case ProspectusFailed():
            return TimelineEntry(
                ActivityType.PROSPECTUS,
                f"Prospectus could not be generated: {event.reason[:200]}",
                {"prospectus_id": str(event.prospectus_id), "reason": event.reason},
            )
        case TaskScheduled():
            verb = "rescheduled" if event.rescheduled else "scheduled"
            return TimelineEntry(
                ActivityType.TASK,
                f"{event.kind.title()} call {verb} for {event.scheduled_for.isoformat()}",
                {
                    "task_id": str(event.task_id),
                    "kind": event.kind,
                    "scheduled_for": event.scheduled_for.isoformat(),
                    "attempt": event.attempt,
                    "mode": event.mode,
                    "reason": event.reason,
                },
            )
        case TaskCanceled():
            return TimelineEntry(
                ActivityType.TASK,
                f"{event.kind.title()} call canceled: {event.reason[:200]}",
                {"task_id": str(event.task_id), "kind": event.kind, "reason": event.reason},
            )
        case EmailSent():
            return TimelineEntry(
                ActivityType.EMAIL,
                "Prospectus emailed" if event.prospectus_id else "Email sent",
                {
                    "email_id": str(event.email_id),
                    "prospectus_id": _str(event.prospectus_id),
                    "provider_message_id": event.provider_message_id,
                },
                LeadStatus.PROPOSAL_SENT if event.prospectus_id else None,
            )
        case EmailFailed():
            return TimelineEntry(
                ActivityType.EMAIL,
                f"Email {'failed permanently' if event.permanent else 'failed'}: {event.reason[:200]}",
                {"email_id": str(event.email_id), "reason": event.reason, "permanent": event.permanent},
            )
        case TaskCompleted():
            when = f"; next attempt {event.next_attempt_at.isoformat()}" if event.next_attempt_at else ""
            return TimelineEntry(
                ActivityType.TASK,
                f"Call task closed: {event.outcome.value.replace('_', ' ').lower()}{when}",
                {
                    "task_id": str(event.task_id),
                    "outcome": event.outcome.value,
                    "next_attempt_at": event.next_attempt_at.isoformat() if event.next_attempt_at else None,
                },
            )
        case DialingChanged():
            what = (
                f"Automatic calls stopped ({event.stopped.replace('_', ' ').lower()})"
                if event.stopped
                else "Automatic calls resumed"
            )
            return TimelineEntry(
                ActivityType.TASK,
                f"{what}: {event.detail[:200]}" if event.detail else what,
                {"stopped": event.stopped, "detail": event.detail},
            )
        case FollowupRequested():
            return TimelineEntry(
                ActivityType.TASK,
                f"Follow-up requested for {event.at.isoformat()}",
                {"call_id": _str(event.call_id), "at": event.at.isoformat(), "reason": event.reason},
            )
    return None


_REACHED = {
    CallOutcome.ANSWERED,
    CallOutcome.CALLBACK_REQUESTED,
    CallOutcome.NOT_INTERESTED,
    CallOutcome.DO_NOT_CALL,
}


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)
