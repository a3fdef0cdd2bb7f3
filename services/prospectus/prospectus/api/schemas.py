"""HTTP request/response models for prospectus versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from ..domain.versions import VersionStatus


class ProspectusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: UUID | None = Field(
        default=None,
        description="render from the recommendation that followed this call; default: the latest",
    )


class VersionLinks(BaseModel):
    self: str
    pdf: str | None = Field(default=None, description="set once the version is READY")
    html: str | None = Field(default=None, description="set once the version is READY")


class VersionOut(BaseModel):
    id: UUID
    lead_id: UUID
    version: int
    status: VersionStatus
    error: str | None = Field(default=None, description="why the last render attempt failed")
    attempts: int = Field(description="render attempts so far")
    call_id: UUID | None = None
    product_ids: list[UUID]
    automatic: bool = Field(description="made by a recommendation (true) or on demand (false)")
    requested_by: UUID | None = None
    page_count: int | None = None
    pdf_bytes: int | None = None
    pdf_sha256: str | None = None
    created_at: datetime
    ready_at: datetime | None = None
    links: VersionLinks

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> VersionOut:
        base = f"/api/prospectus/{record['lead_id']}/{record['version']}"
        ready = record["status"] == VersionStatus.READY
        links = VersionLinks(
            self=base, pdf=f"{base}/pdf" if ready else None, html=f"{base}/html" if ready else None
        )
        return cls.model_validate({**record, "links": links})
