"""Every service reports its changes as `audit.recorded`; the gateway keeps them in one audit log."""

from __future__ import annotations

from typing import Any

from parley_contracts import AuditRecorded
from servicekit.messaging import Handler, UnitOfWork
from servicekit.runtime import ServiceRuntime

from ..service_layer import record_remote_audit


async def store_audit(event: AuditRecorded, uow: UnitOfWork) -> None:
    await record_remote_audit(uow.session, event)


def handlers(_runtime: ServiceRuntime) -> list[Handler[Any]]:
    return [Handler("gateway-audit-log", AuditRecorded, store_audit)]
