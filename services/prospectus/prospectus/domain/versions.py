"""Rules about prospectus versions with no I/O: their statuses, when one is emailed automatically,
and which render failures are worth another attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class VersionStatus(StrEnum):
    QUEUED = "QUEUED"  # waiting for the render worker (first attempt or a retry)
    RENDERING = "RENDERING"  # claimed by a worker
    READY = "READY"  # files stored, prospectus.generated emitted
    FAILED = "FAILED"  # gave up, prospectus.failed emitted


@dataclass(frozen=True)
class LeadEmailFacts:
    email: str | None
    email_permission: bool
    email_opt_out: bool
    dnd: bool


def may_email_automatically(automatic: bool, lead: LeadEmailFacts) -> bool:
    """Only versions made from a call's recommendation go out by themselves, and only to a lead who
    has an address, said yes to email on the call and has not opted out (or asked not to be
    contacted) since. On-demand versions are for the agent to review and send."""
    return (
        automatic and bool(lead.email) and lead.email_permission and not lead.email_opt_out and not lead.dnd
    )


class InputsNotReadyError(Exception):
    """A render input has not arrived yet (the lead, a catalog product): events travel on separate
    consumers, so a recommendation can be here before the products it names. Worth retrying."""


def retry_delay(attempt: int, base_seconds: float) -> timedelta:
    """Linear backoff: inputs usually arrive within seconds, and a render is never retried for long."""
    return timedelta(seconds=base_seconds * max(attempt, 1))
