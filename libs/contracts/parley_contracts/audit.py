"""Audit facts: every service reports its changes; the gateway keeps the audit log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from .base import Event


class AuditRecorded(Event):
    subject = "audit.recorded"
    service: str
    actor_id: UUID | None = None
    actor_role: str | None = None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
