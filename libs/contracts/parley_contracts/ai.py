"""Needs profile (spec 000 §6) and recommendation events."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from .base import Contract, Event
from .catalog import PremiumPeriod


class Urgency(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class BudgetRange(Contract):
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    currency: str = "USD"
    period: PremiumPeriod = PremiumPeriod.MONTHLY


class Dependent(Contract):
    relation: str
    age: int | None = Field(default=None, ge=0, le=120)


class ExistingPolicy(Contract):
    has_policy: bool
    details: str | None = None


class NeedsProfile(Contract):
    coverage_type: list[str] = []
    budget_range: BudgetRange | None = None
    dependents: list[Dependent] = []
    goals: list[str] = []
    existing_policy: ExistingPolicy | None = None
    urgency: Urgency | None = None
    objections: list[str] = []
    health_notes: str | None = None
    preferred_contact_mode: Literal["phone", "email", "sms", "whatsapp"] | None = None
    age: int | None = Field(default=None, ge=0, le=120)
    email: str | None = None
    risk_tolerance: Literal["low", "medium", "high"] | None = None


class Citation(Contract):
    product_id: UUID
    chunk_id: str
    source: Literal["product", "document"]
    document_id: UUID | None = None
    excerpt: str


class RecommendedProduct(Contract):
    product_id: UUID
    name: str
    category_name: str
    insurer: str
    score: float
    rationale: str
    key_benefits: list[str] = []
    citations: list[Citation] = []


class Recommendation(Contract):
    items: list[RecommendedProduct] = []
    nothing_fits: bool = False
    nothing_fits_reason: str | None = None
    narrative: str = ""
    query: str = ""
    mode: Literal["offline", "llm"] = "offline"


class LookupProductsRequest(Contract):
    """Request of `RPC_LOOKUP_PRODUCTS` (the voice bot's `lookupProducts` tool); rag replies with a
    `Recommendation` (or `{"error": ...}`)."""

    lead_id: UUID
    needs: NeedsProfile
    call_id: UUID | None = None
    top_k: int = Field(default=3, ge=1, le=10)


class NeedsExtracted(Event):
    subject = "needs.extracted"
    lead_id: UUID
    call_id: UUID | None = None
    assigned_agent_id: UUID | None = None
    needs: NeedsProfile
    extractor: Literal["rules", "llm"] = "rules"


class RecommendationsReady(Event):
    subject = "recommendations.ready"
    lead_id: UUID
    call_id: UUID | None = None
    assigned_agent_id: UUID | None = None
    needs: NeedsProfile
    recommendation: Recommendation
    # The call's answer to "may we email you?", carried along so the prospectus made from this
    # recommendation never depends on whether its consumer of call.ended has caught up yet.
    email_permission: bool = False
