"""Gateway use cases that change state: each writes its audit entry in the same transaction."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from parley_contracts import AuditRecorded
from servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from .adapters.crypto import SecretBox, hash_password
from .adapters.tables import audit_log, settings, users
from .domain.settings_catalog import SETTINGS, mask, validate_value


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def write_audit(
    session: AsyncSession,
    *,
    service: str,
    actor: Principal | None,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    event_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> None:
    await session.execute(
        sa.insert(audit_log).values(
            id=str(uuid.uuid4()),
            event_id=str(event_id) if event_id else None,
            service=service,
            actor_id=str(actor.user_id) if actor else None,
            actor_role=actor.role.value if actor else None,
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
            created_at=at or datetime.now(UTC),
        )
    )


async def record_remote_audit(session: AsyncSession, event: AuditRecorded) -> None:
    await session.execute(
        sa.insert(audit_log).values(
            id=str(uuid.uuid4()),
            event_id=str(event.event_id),
            service=event.service,
            actor_id=str(event.actor_id) if event.actor_id else None,
            actor_role=event.actor_role,
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            before=event.before,
            after=event.after,
            created_at=event.occurred_at,
        )
    )


def public_user(row: sa.RowMapping | dict[str, Any]) -> dict[str, Any]:
    return {
        k: (str(v) if isinstance(v, datetime) else v) for k, v in dict(row).items() if k != "password_hash"
    }


async def create_user(
    session: AsyncSession,
    actor: Principal | None,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    user_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "id": str(user_id or uuid.uuid4()),
        "email": email.lower(),
        "name": name,
        "role": role,
        "password_hash": hash_password(password),
        "active": True,
        "created_at": now,
        "updated_at": now,
    }
    await session.execute(sa.insert(users).values(**row))
    await write_audit(
        session,
        service="gateway",
        actor=actor,
        action="user.created",
        entity="user",
        entity_id=str(row["id"]),
        before=None,
        after=public_user(row),
    )
    return row


async def update_user(
    session: AsyncSession, actor: Principal, current: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    values = {k: v for k, v in changes.items() if k != "password"}
    if "password" in changes:
        values["password_hash"] = hash_password(changes["password"])
    values["updated_at"] = datetime.now(UTC)
    await session.execute(sa.update(users).where(users.c.id == current["id"]).values(**values))
    after = {**current, **values}
    audit_after = public_user(after) | ({"password": "changed"} if "password" in changes else {})
    await write_audit(
        session,
        service="gateway",
        actor=actor,
        action="user.updated",
        entity="user",
        entity_id=current["id"],
        before=public_user(current),
        after=audit_after,
    )
    return after


async def read_settings(session: AsyncSession, box: SecretBox) -> list[dict[str, Any]]:
    stored = {r["key"]: r for r in (await session.execute(sa.select(settings))).mappings()}
    result = []
    for key, spec in SETTINGS.items():
        row = stored.get(key)
        if row is None:
            value, is_set = (None if spec.secret else spec.default), False
        elif spec.secret:
            value, is_set = mask(box.decrypt(row["value"])), True
        else:
            value, is_set = json.loads(row["value"]), True
        result.append(
            {
                "key": key,
                "description": spec.description,
                "secret": spec.secret,
                "is_set": is_set,
                "value": value,
                "choices": list(spec.choices) if spec.choices else None,
                "updated_at": aware(row["updated_at"]) if row else None,
            }
        )
    return result


async def resolved_settings(session: AsyncSession, box: SecretBox) -> dict[str, Any]:
    """Values in clear, for services that need them (never for HTTP responses)."""
    stored = {r["key"]: r for r in (await session.execute(sa.select(settings))).mappings()}
    values: dict[str, Any] = {}
    for key, spec in SETTINGS.items():
        row = stored.get(key)
        if row is None:
            values[key] = spec.default
        else:
            values[key] = box.decrypt(row["value"]) if spec.secret else json.loads(row["value"])
    return values


async def put_settings(
    session: AsyncSession, box: SecretBox, actor: Principal, updates: dict[str, Any]
) -> None:
    validated = {key: validate_value(key, value) for key, value in updates.items()}
    stored = {r["key"]: r for r in (await session.execute(sa.select(settings))).mappings()}
    now = datetime.now(UTC)
    for key, value in validated.items():
        spec = SETTINGS[key]
        old = stored.get(key)
        if spec.secret:
            before = mask(box.decrypt(old["value"])) if old else None
            after = mask(value) if value is not None else None
        else:
            before = json.loads(old["value"]) if old else None
            after = value
        if value is None:
            await session.execute(sa.delete(settings).where(settings.c.key == key))
        else:
            encoded = box.encrypt(value) if spec.secret else json.dumps(value)
            row = {
                "value": encoded,
                "is_secret": spec.secret,
                "updated_by": str(actor.user_id),
                "updated_at": now,
            }
            if old:
                await session.execute(sa.update(settings).where(settings.c.key == key).values(**row))
            else:
                await session.execute(sa.insert(settings).values(key=key, **row))
        await write_audit(
            session,
            service="gateway",
            actor=actor,
            action="setting.updated",
            entity="setting",
            entity_id=key,
            before={"value": before},
            after={"value": after},
        )
