"""Values passed between retrieval (vector store) and recommendation (ranking, narrative)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel


class SearchFilters(BaseModel):
    """Hard constraints applied inside the vector search, not after it."""

    category_names: list[str] | None = None
    age: int | None = None
    # Products whose cheapest monthly premium exceeds this are excluded.
    max_monthly_premium: float | None = None
    product_ids: list[UUID] | None = None


class ChunkHit(BaseModel):
    chunk_id: str
    product_id: UUID
    kind: Literal["product", "document"]
    document_id: UUID | None = None
    text: str
    score: float
    metadata: dict[str, Any] = {}
