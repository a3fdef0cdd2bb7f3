"""`/api/prospectus` routes. Agents only reach their own leads' prospectuses: another agent's lead is a 404."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.errors import Conflict, NotFound
from servicekit.pagination import Page, Pagination
from sqlalchemy.exc import IntegrityError

from .. import service_layer as svc
from ..adapters import repository as repo
from ..domain.ports import ProspectusNotFoundError, ProspectusStore
from ..worker import RenderWorker
from .schemas import ProspectusRequest, VersionOut

router = APIRouter(prefix="/api/prospectus", tags=["prospectus"])

Version = Annotated[int, Path(ge=1, le=1_000_000, description="version number, from 1")]
# Two requests for the same lead may pick the same next number; the loser retries with the next one.
VERSION_NUMBER_ATTEMPTS = 3

# The stored HTML is self-contained (inline styles, data: images); anything else it tried to load,
# run or submit is refused, and `sandbox` gives it an opaque origin even when opened directly.
HTML_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self'; sandbox"
)
PRIVATE_FILE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


@router.post("/{lead_id}", response_model=VersionOut, status_code=status.HTTP_202_ACCEPTED)
async def request_prospectus(
    lead_id: uuid.UUID,
    principal: CurrentPrincipal,
    runtime: Runtime,
    response: Response,
    body: Annotated[ProspectusRequest | None, Body()] = None,
) -> VersionOut:
    """Queue the lead's next version, rendered from its latest recommendation (or the one from
    `call_id`). Answers 202 at once; poll the version until its status is READY or FAILED."""
    worker: RenderWorker = runtime.extras["worker"]
    call_id = body.call_id if body else None
    await svc.project_missing_lead(runtime, lead_id)
    for attempt in range(1, VERSION_NUMBER_ATTEMPTS + 1):
        try:
            async with runtime.unit_of_work() as uow:
                record = await svc.request_version(uow, principal, lead_id, call_id)
                worker.kick_after_commit(uow.session)
            break
        except IntegrityError as exc:
            if attempt == VERSION_NUMBER_ATTEMPTS:
                raise Conflict(
                    "Other versions of this prospectus were being created at the same time; try again."
                ) from exc
    out = VersionOut.from_record(record)
    response.headers["Location"] = out.links.self
    return out


@router.get("/{lead_id}", response_model=Page[VersionOut])
async def list_versions(
    lead_id: uuid.UUID, principal: CurrentPrincipal, runtime: Runtime, session: DbSession, paging: Pagination
) -> Page[VersionOut]:
    """The lead's versions, newest first."""
    await svc.project_missing_lead(runtime, lead_id)
    if await repo.get_lead(session, lead_id, principal) is None:
        raise NotFound("Lead not found.")
    items, total = await repo.list_versions(session, lead_id, offset=paging.offset, limit=paging.page_size)
    return Page(
        items=[VersionOut.from_record(i) for i in items],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/{lead_id}/{version}", response_model=VersionOut)
async def get_version(
    lead_id: uuid.UUID, version: Version, principal: CurrentPrincipal, runtime: Runtime
) -> VersionOut:
    return VersionOut.from_record(await svc.visible_version(runtime.db, principal, lead_id, version))


@router.get(
    "/{lead_id}/{version}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the PDF"}},
)
async def download_pdf(
    lead_id: uuid.UUID, version: Version, principal: CurrentPrincipal, runtime: Runtime
) -> Response:
    record = await svc.visible_version(runtime.db, principal, lead_id, version)
    svc.require_ready(record)
    store: ProspectusStore = runtime.extras["store"]
    try:
        pdf = await store.read_pdf(lead_id, version)
    except ProspectusNotFoundError as exc:
        raise NotFound(f"The PDF of version {version} is missing from storage.") from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            **PRIVATE_FILE_HEADERS,
            "Content-Disposition": f'attachment; filename="prospectus-v{version}.pdf"',
        },
    )


@router.get(
    "/{lead_id}/{version}/html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "the HTML the PDF was made from"}},
)
async def download_html(
    lead_id: uuid.UUID, version: Version, principal: CurrentPrincipal, runtime: Runtime
) -> Response:
    record = await svc.visible_version(runtime.db, principal, lead_id, version)
    svc.require_ready(record)
    store: ProspectusStore = runtime.extras["store"]
    try:
        html = await store.read_html(lead_id, version)
    except ProspectusNotFoundError as exc:
        raise NotFound(f"The HTML of version {version} is missing from storage.") from exc
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={**PRIVATE_FILE_HEADERS, "Content-Security-Policy": HTML_CSP},
    )
