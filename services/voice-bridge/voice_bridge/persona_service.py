"""Use cases for the bot's personas: admins create, edit, delete them and choose the default; every call
resolves its persona as it starts (a named one, else the default, else the built-in `DEFAULT_PERSONA`).

Admin changes are reported as `audit.recorded` in the same transaction, like the other services do.
"""

from __future__ import annotations

import uuid
from typing import Any

from parley_contracts import AuditRecorded, utcnow
from servicekit.auth import Principal
from servicekit.errors import Conflict, NotFound, Unprocessable
from servicekit.messaging import UnitOfWork
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .adapters import personas as store
from .adapters.personas import StoredPersona
from .domain.persona import BUILT_IN_PERSONA, ChosenPersona, Persona

SERVICE = "voice-bridge"


def _audit(
    principal: Principal,
    action: str,
    persona_id: uuid.UUID,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditRecorded:
    return AuditRecorded(
        service=SERVICE,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action=action,
        entity="persona",
        entity_id=str(persona_id),
        before=before,
        after=after,
    )


def _name_conflict(name: str) -> Conflict:
    return Conflict(f"A persona named {name!r} already exists.", field="name")


async def found(session: AsyncSession, persona_id: uuid.UUID, *, for_update: bool = False) -> StoredPersona:
    stored = await store.get(session, persona_id, for_update=for_update)
    if stored is None:
        raise NotFound(f"persona {persona_id} not found")
    return stored


async def choose(session: AsyncSession, persona_id: uuid.UUID | None) -> ChosenPersona | None:
    """The persona a call starts with: the one named, or the default one (the built-in persona while
    none is marked). None when the named persona does not exist."""
    stored = await (store.get_default(session) if persona_id is None else store.get(session, persona_id))
    if stored is None:
        return BUILT_IN_PERSONA if persona_id is None else None
    return ChosenPersona(stored.id, stored.persona)


def unknown_persona(persona_id: uuid.UUID) -> Unprocessable:
    """A call asked for a persona that does not exist (or no longer does)."""
    return Unprocessable(
        f"persona {persona_id} does not exist; leave persona_id out to use the default persona",
        errors=[{"loc": ["body", "persona_id"], "msg": "unknown persona", "type": "not_found"}],
    )


async def create(uow: UnitOfWork, principal: Principal, name: str, persona: Persona) -> StoredPersona:
    if await store.name_taken(uow.session, name):
        raise _name_conflict(name)
    persona_id = uuid.uuid4()
    try:
        await store.insert(uow.session, persona_id, name, persona, now=utcnow(), actor=principal.user_id)
    except IntegrityError as error:  # the same name, created at the same moment
        raise _name_conflict(name) from error
    created = await found(uow.session, persona_id)
    await uow.emit(_audit(principal, "persona.created", persona_id, None, created.audit_view()))
    return created


async def update(
    uow: UnitOfWork, principal: Principal, persona_id: uuid.UUID, name: str, persona: Persona
) -> StoredPersona:
    current = await found(uow.session, persona_id, for_update=True)
    before = current.audit_view()
    after = {**before, "name": name, "persona": persona.model_dump(mode="json")}
    changed = sorted(key for key in after if before[key] != after[key])
    if not changed:
        return current
    if "name" in changed and await store.name_taken(uow.session, name, exclude_id=persona_id):
        raise _name_conflict(name)
    try:
        await store.update(uow.session, persona_id, name, persona, now=utcnow(), actor=principal.user_id)
    except IntegrityError as error:
        raise _name_conflict(name) from error
    await uow.emit(
        _audit(
            principal,
            "persona.updated",
            persona_id,
            {key: before[key] for key in changed},
            {key: after[key] for key in changed},
        )
    )
    return await found(uow.session, persona_id)


async def delete(uow: UnitOfWork, principal: Principal, persona_id: uuid.UUID) -> None:
    current = await found(uow.session, persona_id, for_update=True)
    if current.is_default:
        raise Conflict(
            "This is the default persona: make another persona the default before deleting it.",
            code="persona_is_default",
        )
    await store.delete(uow.session, persona_id)
    await uow.emit(_audit(principal, "persona.deleted", persona_id, current.audit_view(), None))


async def make_default(uow: UnitOfWork, principal: Principal, persona_id: uuid.UUID) -> StoredPersona:
    current = await found(uow.session, persona_id, for_update=True)
    if current.is_default:
        return current
    previous = await store.get_default(uow.session)
    await store.make_default(uow.session, persona_id, now=utcnow(), actor=principal.user_id)
    await uow.emit(
        _audit(
            principal,
            "persona.default_set",
            persona_id,
            {"default_persona_id": str(previous.id) if previous else None},
            {"default_persona_id": str(persona_id)},
        )
    )
    return await found(uow.session, persona_id)
