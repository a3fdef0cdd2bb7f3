"""The ports needs extraction and recommendation depend on; adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from uuid import UUID

from parley_contracts import NeedsProfile, ProductSnapshot

from .transcript import TranscriptInput
from .types import ChunkHit, SearchFilters


@dataclass(frozen=True, slots=True)
class NeedsExtraction:
    needs: NeedsProfile
    # Which extractor's answer this is: "llm" only when the model's answer (possibly repaired) was used.
    extractor: Literal["rules", "llm"]
    # What was dropped or replaced from the model's answer, and why (empty for the rules extractor).
    repairs: tuple[str, ...] = ()


class NeedsExtractor(Protocol):
    async def extract(self, transcript: TranscriptInput) -> NeedsExtraction: ...


class Retriever(Protocol):
    """Similarity search over product and document chunks, with `filters` applied inside the search."""

    async def search(self, query: str, filters: SearchFilters, k: int) -> list[ChunkHit]: ...


class ProductFacts(Protocol):
    """The catalog's current facts about products: the recommender re-checks eligibility against these."""

    async def get_many(self, product_ids: Sequence[UUID]) -> dict[UUID, ProductSnapshot]:
        """The products found among `product_ids` (unknown or deleted ones are absent)."""
        ...

    async def category_names(self) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class NarrativeSource:
    """One recommended product as the narrative writer sees it: its facts and the passages retrieved."""

    product: ProductSnapshot
    passages: tuple[ChunkHit, ...]
    # The deterministic rationale, built from catalog facts only.
    rationale: str
    key_benefits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NarrativeDraft:
    narrative: str
    # Who wrote it: "llm" only when the text is the model's (a writer may fall back to the template).
    mode: Literal["offline", "llm"]
    # product id -> rationale; products left out keep their deterministic rationale.
    rationales: dict[UUID, str] = field(default_factory=dict)


class NarrativeWriter(Protocol):
    async def write(self, needs: NeedsProfile, sources: Sequence[NarrativeSource]) -> NarrativeDraft: ...
