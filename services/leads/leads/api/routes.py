"""`/api/leads` routes. Agents only ever see their own leads: another agent's lead is a 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from parley_contracts import LeadSnapshot, LeadStatus
from pydantic import TypeAdapter, ValidationError
from servicekit.app import DbSession, Runtime
from servicekit.auth import CurrentPrincipal
from servicekit.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from servicekit.pagination import Page, Pagination

from .. import service_layer as svc
from ..adapters import repository as repo
from ..domain.csv_import import CsvFileError, ParsedLead, RowError, parse_csv
from ..domain.rules import InvalidTimezone, validate_timezone
from .schemas import (
    PREVIEW_ROWS,
    ActivityIn,
    ActivityOut,
    ImportReport,
    ImportRowError,
    ImportRowPreview,
    LeadIn,
    LeadOut,
    LeadPatch,
    PipelineOut,
    StatusCount,
)

router = APIRouter(prefix="/api/leads", tags=["leads"])

MAX_IMPORT_BYTES = 20 * 1024 * 1024
SortField = Literal[
    "name",
    "-name",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "status",
    "-status",
    "age",
    "-age",
]


def _out(lead: LeadSnapshot) -> LeadOut:
    return LeadOut.model_validate(lead.model_dump())


@router.get("", response_model=Page[LeadOut])
async def list_leads(
    principal: CurrentPrincipal,
    session: DbSession,
    paging: Pagination,
    status_: Annotated[list[LeadStatus] | None, Query(alias="status")] = None,
    agent_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: SortField = "-created_at",
    source: Annotated[str | None, Query(max_length=100)] = None,
    age_min: Annotated[int | None, Query(ge=0, le=120)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=120)] = None,
    has_email: bool | None = None,
    dnd: bool | None = None,
) -> Page[LeadOut]:
    items, total = await repo.list_leads(
        session,
        principal,
        status=status_,
        agent_id=agent_id,
        text=q,
        sort=sort,
        offset=paging.offset,
        limit=paging.page_size,
        filters=repo.LeadFilters(
            source=source, age_min=age_min, age_max=age_max, has_email=has_email, dnd=dnd
        ),
    )
    return Page(items=[_out(i) for i in items], total=total, page=paging.page, page_size=paging.page_size)


@router.get("/pipeline", response_model=PipelineOut)
async def pipeline(principal: CurrentPrincipal, session: DbSession) -> PipelineOut:
    """Leads per status: the agent's own, or the whole team's for an admin."""
    counts = await repo.pipeline_counts(session, principal)
    return PipelineOut(
        counts=[StatusCount(status=status, count=count) for status, count in counts.items()],
        total=sum(counts.values()),
    )


@router.post("", response_model=LeadOut, status_code=status.HTTP_201_CREATED)
async def create_lead(data: LeadIn, principal: CurrentPrincipal, runtime: Runtime) -> LeadOut:
    async with runtime.unit_of_work() as uow:
        lead = await svc.create_lead(uow, principal, data)
    return _out(lead)


@router.post("/import", response_model=ImportReport)
async def import_leads(
    principal: CurrentPrincipal,
    runtime: Runtime,
    response: Response,
    file: Annotated[
        UploadFile, File(description="CSV with a header row; UTF-8 unless `encoding` says otherwise")
    ],
    mode: Annotated[Literal["strict", "skip_invalid"], Form()] = "strict",
    mapping: Annotated[str | None, Form(description='JSON {"CSV header": "lead field"}')] = None,
    assigned_agent_id: Annotated[uuid.UUID | None, Form()] = None,
    encoding: Annotated[str, Form(max_length=30)] = "utf-8",
    default_region: Annotated[str | None, Form(min_length=2, max_length=2)] = None,
    default_timezone: Annotated[
        str | None,
        Form(
            max_length=64,
            description="only for rows with no timezone whose number (and location) map to no zone",
        ),
    ] = None,
    dry_run: Annotated[bool, Form(description="check and preview the rows; write nothing")] = False,
) -> ImportReport:
    """Import leads. `strict` (default) imports nothing if any row is invalid; `skip_invalid` imports
    the valid rows. Duplicates (by phone or email, in the file or already stored) are skipped and listed.
    A row without a timezone gets the one its phone number (then its location) says; `rows` shows each
    valid row's timezone and where it came from. `dry_run` previews without writing."""
    if assigned_agent_id and not principal.is_admin and assigned_agent_id != principal.user_id:
        raise Forbidden("Agents import leads for themselves only.")
    owner = assigned_agent_id or (None if principal.is_admin else principal.user_id)
    explicit = _parse_mapping(mapping)
    if default_timezone:
        try:
            validate_timezone(default_timezone)
        except InvalidTimezone as exc:
            raise Unprocessable(
                str(exc),
                errors=[{"loc": ["body", "default_timezone"], "msg": str(exc), "type": "value_error"}],
            ) from exc
    data = await _read_limited(file)
    async with runtime.unit_of_work() as uow:
        phones, emails = await repo.existing_contacts(uow.session)
        try:
            parsed = parse_csv(
                data,
                encoding=encoding,
                explicit_mapping=explicit,
                default_region=default_region.upper() if default_region else None,
                default_timezone=default_timezone,
                existing_phones=phones,
                existing_emails=emails,
            )
        except CsvFileError as exc:
            raise Unprocessable(f"The CSV file cannot be imported: {exc}") from exc
        report = ImportReport(
            dry_run=dry_run,
            rows=[_preview(row) for row in parsed.leads[:PREVIEW_ROWS]],
            imported=0,
            total_rows=parsed.total_rows,
            duplicates=_row_errors(parsed.duplicates),
            errors=_row_errors(parsed.errors),
            header_mapping=parsed.header_mapping,
            mode=mode,
        )
        if dry_run:
            return report
        if parsed.errors and mode == "strict":
            raise Unprocessable(
                f"{len(parsed.errors)} row(s) are invalid; nothing was imported. Fix them, or use mode=skip_invalid.",
                errors=[e.model_dump() for e in report.errors[:1000]],
                report=report.model_dump(),
            )
        report.imported = await svc.import_leads(uow, principal, parsed, owner)
    response.status_code = status.HTTP_201_CREATED if report.imported else status.HTTP_200_OK
    return report


def _parse_mapping(mapping: str | None) -> dict[str, str] | None:
    if not mapping:
        return None
    try:
        return TypeAdapter(dict[str, str]).validate_json(mapping)
    except ValidationError as exc:
        raise BadRequest('mapping must be a JSON object of strings: {"CSV header": "lead field"}') from exc


async def _read_limited(file: UploadFile) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(1024 * 1024):
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise PayloadTooLarge(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        chunks.append(chunk)
    if not size:
        raise Unprocessable("The uploaded file is empty.")
    return b"".join(chunks)


def _preview(row: ParsedLead) -> ImportRowPreview:
    return ImportRowPreview(line=row.line, **row.fields)


def _row_errors(rows: list[RowError]) -> list[ImportRowError]:
    return [ImportRowError(line=r.line, column=r.column, message=r.message) for r in rows]


@router.get("/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> LeadOut:
    lead = await repo.get_lead(session, lead_id, principal)
    if lead is None:
        raise NotFound("Lead not found.")
    return _out(lead)


@router.patch("/{lead_id}", response_model=LeadOut)
async def update_lead(
    lead_id: uuid.UUID, patch: LeadPatch, principal: CurrentPrincipal, runtime: Runtime
) -> LeadOut:
    async with runtime.unit_of_work() as uow:
        lead = await svc.update_lead(uow, principal, lead_id, patch)
    return _out(lead)


@router.delete("/{lead_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_lead(lead_id: uuid.UUID, principal: CurrentPrincipal, runtime: Runtime) -> Response:
    async with runtime.unit_of_work() as uow:
        await svc.delete_lead(uow, principal, lead_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{lead_id}/activities", response_model=Page[ActivityOut])
async def list_activities(
    lead_id: uuid.UUID,
    principal: CurrentPrincipal,
    session: DbSession,
    paging: Pagination,
    order: Literal["asc", "desc"] = "desc",
) -> Page[ActivityOut]:
    if await repo.get_lead(session, lead_id, principal) is None:
        raise NotFound("Lead not found.")
    items, total = await repo.list_activities(
        session, lead_id, offset=paging.offset, limit=paging.page_size, newest_first=order == "desc"
    )
    return Page(
        items=[ActivityOut.model_validate(i) for i in items],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.post("/{lead_id}/activities", response_model=ActivityOut, status_code=status.HTTP_201_CREATED)
async def add_activity(
    lead_id: uuid.UUID, data: ActivityIn, principal: CurrentPrincipal, runtime: Runtime
) -> Any:
    async with runtime.unit_of_work() as uow:
        values = await svc.add_manual_activity(uow, principal, lead_id, data)
    return ActivityOut.model_validate(values)
