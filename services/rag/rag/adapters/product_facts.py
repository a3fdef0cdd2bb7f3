"""`ProductFacts` held in memory: the service fills it from catalog events (or a snapshot at start-up)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from parley_contracts import ProductSnapshot


class InMemoryProductFacts:
    def __init__(self, products: Iterable[ProductSnapshot] = ()) -> None:
        self._products: dict[UUID, ProductSnapshot] = {p.id: p for p in products}

    def upsert(self, product: ProductSnapshot) -> None:
        self._products[product.id] = product

    def remove(self, product_id: UUID) -> None:
        self._products.pop(product_id, None)

    async def get_many(self, product_ids: Sequence[UUID]) -> dict[UUID, ProductSnapshot]:
        return {pid: self._products[pid] for pid in product_ids if pid in self._products}

    async def category_names(self) -> list[str]:
        return list(dict.fromkeys(p.category_name for p in self._products.values()))
