"""`/api/rag`: recommendations for a needs profile, filtered search, a lead's latest recommendation,
one call's needs and recommendation, and index health. Agents see only their own leads' data (404
otherwise)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from parley_contracts import NeedsProfile, Recommendation
from pydantic import BaseModel, Field
from servicekit.app import DbSession, Runtime
from servicekit.auth import AdminPrincipal, CurrentPrincipal, Principal
from servicekit.errors import NotFound
from servicekit.lead_projection import fill_missing_lead
from servicekit.runtime import ServiceRuntime
from sqlalchemy.ext.asyncio import AsyncSession

from ..adapters import repository as repo
from ..adapters.tables import lead_owners
from ..domain.indexer import IndexHealth
from ..domain.types import ChunkHit, SearchFilters
from ..domain.vector_store import IndexRun
from ..service_layer import RagEngine, lead_changed
from .schemas import CallResults

router = APIRouter(prefix="/api/rag", tags=["rag"])


def get_engine(runtime: Runtime) -> RagEngine:
    engine: RagEngine = runtime.extras["rag"]
    return engine


Engine = Annotated[RagEngine, Depends(get_engine)]


async def lead_visible(session: AsyncSession, principal: Principal, lead_id: UUID) -> bool:
    """Admins see every lead; an agent only leads assigned to them."""
    if principal.is_admin:
        return True
    owner = await repo.lead_owner(session, lead_id)
    return owner is not None and owner.assigned_agent_id == principal.user_id


async def ensure_lead_visible(
    runtime: ServiceRuntime, session: AsyncSession, principal: Principal, lead_id: UUID
) -> None:
    """A lead the principal may not see is "not found", like one that does not exist."""
    # A lead created a moment ago may not have reached this projection yet: ask leads for it.
    await fill_missing_lead(runtime, lead_owners, lead_id, lead_changed, key="lead_id")
    if not await lead_visible(session, principal, lead_id):
        raise NotFound("Lead not found.")


class RecommendationRequest(BaseModel):
    needs: NeedsProfile
    lead_id: UUID | None = None
    top_k: int | None = Field(default=None, ge=1, le=5)


class ExcludedProduct(BaseModel):
    product_id: UUID
    name: str
    reasons: list[str]


class RecommendationResponse(BaseModel):
    lead_id: UUID | None
    recommendation: Recommendation
    filters: SearchFilters
    excluded: list[ExcludedProduct]
    # Sentences the grounding check removed (figures or claims not found in the cited sources).
    ungrounded_sentences_removed: int
    notes: list[str]


class SearchResponse(BaseModel):
    query: str
    filters: SearchFilters
    items: list[ChunkHit]


class LeadRecommendation(BaseModel):
    lead_id: UUID
    call_id: UUID
    needs: NeedsProfile
    recommendation: Recommendation
    created_at: datetime


class IndexHealthOut(IndexHealth):
    products_known: int
    documents_known: int


@router.post("/recommendations", response_model=RecommendationResponse)
async def recommend(
    body: RecommendationRequest,
    principal: CurrentPrincipal,
    runtime: Runtime,
    session: DbSession,
    engine: Engine,
) -> RecommendationResponse:
    if body.lead_id is not None:
        await ensure_lead_visible(runtime, session, principal, body.lead_id)
    outcome = await engine.recommend(body.needs, body.top_k)
    return RecommendationResponse(
        lead_id=body.lead_id,
        recommendation=outcome.recommendation,
        filters=outcome.filters,
        excluded=[
            ExcludedProduct(product_id=e.product_id, name=e.name, reasons=list(e.reasons))
            for e in outcome.excluded
        ],
        ungrounded_sentences_removed=len(outcome.grounding.dropped),
        notes=list(outcome.notes),
    )


@router.get("/search", response_model=SearchResponse)
async def search(
    principal: CurrentPrincipal,
    engine: Engine,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    category: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    max_monthly_premium: Annotated[float | None, Query(ge=0)] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResponse:
    filters = SearchFilters(
        category_names=[category] if category else None, age=age, max_monthly_premium=max_monthly_premium
    )
    query = q.strip()
    items = await engine.search(query, filters, k) if query else []
    return SearchResponse(query=query, filters=filters, items=items)


@router.get("/leads/{lead_id}/recommendations", response_model=LeadRecommendation)
async def latest_for_lead(
    lead_id: UUID, principal: CurrentPrincipal, runtime: Runtime, session: DbSession
) -> LeadRecommendation:
    await ensure_lead_visible(runtime, session, principal, lead_id)
    stored = await repo.latest_recommendation(session, lead_id)
    if stored is None:
        raise NotFound("No recommendation for this lead yet.")
    return LeadRecommendation(
        lead_id=stored.lead_id,
        call_id=stored.call_id,
        needs=stored.needs,
        recommendation=stored.recommendation,
        created_at=stored.created_at,
    )


@router.get("/calls/{call_id}", response_model=CallResults)
async def call_results(call_id: UUID, principal: CurrentPrincipal, session: DbSession) -> CallResults:
    """The call's own needs and recommendation (not the lead's latest), or its pending state."""
    stored = await repo.call_results(session, call_id)
    # Another agent's call answers exactly like an unknown one: its existence is not revealed.
    if stored is None or not await lead_visible(session, principal, stored.lead_id):
        raise NotFound("Call not found.")
    return CallResults.of(stored)


@router.get("/index/health", response_model=IndexHealthOut)
async def index_health(principal: CurrentPrincipal, session: DbSession, engine: Engine) -> IndexHealthOut:
    health = await engine.health()
    data: dict[str, Any] = health.model_dump()
    return IndexHealthOut(
        **data,
        products_known=await repo.count_products(session),
        documents_known=await repo.count_documents(session),
    )


@router.post("/index/reindex", response_model=IndexRun)
async def reindex(principal: AdminPrincipal, engine: Engine) -> IndexRun:
    """A full reindex now, from this service's projection of the catalog."""
    return await engine.full_reindex()
