"""`/api/voice/personas`: the bot's personas (name, greeting, tone, voice, language, qualification
questions). Everyone logged in reads them (agents rehearse with them); admins create, edit and delete them
and choose the default, which calls that name no persona are made with. Deleting the default is refused
(409): make another one the default first. Until an admin marks one, the built-in persona is the default.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal, CurrentPrincipal
from servicekit.pagination import Page, Pagination

from .. import persona_service as personas
from ..adapters import personas as store
from .schemas import DefaultPersonaOut, PersonaIn, PersonaOut

router = APIRouter(prefix="/api/voice/personas", tags=["voice personas"])


@router.get("", response_model=Page[PersonaOut])
async def list_personas(principal: CurrentPrincipal, db: DbSession, paging: Pagination) -> Page[PersonaOut]:
    """Stored personas, the default first, then by name."""
    items, total = await store.list_personas(db, offset=paging.offset, limit=paging.page_size)
    return Page(
        items=[PersonaOut.of(p) for p in items], total=total, page=paging.page, page_size=paging.page_size
    )


@router.post("", response_model=PersonaOut, status_code=status.HTTP_201_CREATED)
async def create_persona(body: PersonaIn, principal: AdminPrincipal, runtime: Runtime) -> PersonaOut:
    async with runtime.unit_of_work() as uow:
        created = await personas.create(uow, principal, body.name, body.persona)
    return PersonaOut.of(created)


@router.get("/default", response_model=DefaultPersonaOut)
async def get_default_persona(principal: CurrentPrincipal, db: DbSession) -> DefaultPersonaOut:
    """The persona a call that names none is made with now (the built-in one while none is marked)."""
    chosen = await personas.choose(db, None)
    assert chosen is not None
    return DefaultPersonaOut.of(chosen)


@router.get("/{persona_id}", response_model=PersonaOut)
async def get_persona(persona_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> PersonaOut:
    return PersonaOut.of(await personas.found(db, persona_id))


@router.put("/{persona_id}", response_model=PersonaOut)
async def replace_persona(
    persona_id: uuid.UUID, body: PersonaIn, principal: AdminPrincipal, runtime: Runtime
) -> PersonaOut:
    """Replace the persona's name and settings. Calls already under way keep the persona they started with."""
    async with runtime.unit_of_work() as uow:
        updated = await personas.update(uow, principal, persona_id, body.name, body.persona)
    return PersonaOut.of(updated)


@router.delete("/{persona_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_persona(persona_id: uuid.UUID, principal: AdminPrincipal, runtime: Runtime) -> Response:
    """Past calls keep the deleted persona's id in their `persona_id`."""
    async with runtime.unit_of_work() as uow:
        await personas.delete(uow, principal, persona_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{persona_id}/default", response_model=PersonaOut)
async def make_default_persona(
    persona_id: uuid.UUID, principal: AdminPrincipal, runtime: Runtime
) -> PersonaOut:
    """Make this the persona calls use when they name none (the previous default stays, unmarked)."""
    async with runtime.unit_of_work() as uow:
        chosen = await personas.make_default(uow, principal, persona_id)
    return PersonaOut.of(chosen)
