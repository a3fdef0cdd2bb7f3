"""Catalog events and the product snapshot they carry (spec 000 §2B)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import Field

from .base import Contract, Event


class PremiumPeriod(StrEnum):
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"
    SINGLE = "SINGLE"


PERIODS_PER_YEAR: dict[PremiumPeriod, int] = {
    PremiumPeriod.MONTHLY: 12,
    PremiumPeriod.QUARTERLY: 4,
    PremiumPeriod.YEARLY: 1,
    PremiumPeriod.SINGLE: 1,
}


class PremiumRange(Contract):
    min: float = Field(ge=0)
    max: float = Field(ge=0)
    period: PremiumPeriod = PremiumPeriod.MONTHLY
    currency: str = "USD"

    def monthly(self) -> tuple[float, float]:
        """The range as a monthly amount, so budgets in any period compare."""
        factor = PERIODS_PER_YEAR[self.period] / 12
        return self.min * factor, self.max * factor


class Eligibility(Contract):
    min_age: int = Field(default=0, ge=0, le=120)
    max_age: int = Field(default=120, ge=0, le=120)
    notes: str | None = None


class ProductSnapshot(Contract):
    id: UUID
    name: str
    category_id: UUID
    category_name: str
    insurer: str
    plan_type: str
    eligibility: Eligibility = Eligibility()
    coverage_highlights: list[str] = []
    premium_range: PremiumRange | None = None
    cover_amount: str | None = None
    exclusions: list[str] = []
    riders: list[str] = []
    claim_process: list[str] = []
    tags: list[str] = []
    features: dict[str, Any] = {}
    description: str | None = None
    updated_at: datetime | None = None


class ProductUpserted(Event):
    subject = "catalog.product.upserted"
    product: ProductSnapshot
    actor_id: UUID | None = None


class ProductDeleted(Event):
    subject = "catalog.product.deleted"
    product_id: UUID
    actor_id: UUID | None = None


class DocumentUploaded(Event):
    subject = "catalog.document.uploaded"
    document_id: UUID
    product_id: UUID
    category_id: UUID
    filename: str
    content_type: str
    text_chars: int
    actor_id: UUID | None = None


class DocumentDeleted(Event):
    subject = "catalog.document.deleted"
    document_id: UUID
    product_id: UUID
    actor_id: UUID | None = None


# Request/reply: a document's extracted text, paged (events stay small; the text can be megabytes, and
# a NATS message is at most 1 MB by default).
MAX_DOCUMENT_TEXT_PAGE_CHARS = 200_000


class DocumentTextRequest(Contract):
    document_id: UUID
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100_000, ge=1, le=MAX_DOCUMENT_TEXT_PAGE_CHARS)


class DocumentTextReply(Contract):
    found: bool
    document_id: UUID
    product_id: UUID | None = None
    category_id: UUID | None = None
    filename: str | None = None
    content_type: str | None = None
    text: str = ""
    total_chars: int = 0
    # Where the next page starts; None when this page reaches the end.
    next_offset: int | None = None
