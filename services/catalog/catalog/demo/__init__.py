"""Demo product catalog for `make up`, seeds and the recommendation evaluation (dev only, never in prod).

`catalog.json` holds the categories, products (every field of spec 000 §2B) and document metadata; the
document bodies live in `documents/` as the original files, so a seeder can store them as uploads and the
evaluation can index the same text. All ids are fixed UUIDs: seeds, tests and the evaluation set agree.
The insurers and products are invented.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from types import MappingProxyType
from uuid import UUID

from parley_contracts import ProductSnapshot

__all__ = ["DemoCatalog", "DemoCategory", "DemoDocument", "html_to_text", "load_demo_catalog"]


@dataclass(frozen=True, slots=True)
class DemoCategory:
    id: UUID
    slug: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class DemoDocument:
    id: UUID
    product_id: UUID
    category_id: UUID
    filename: str
    content_type: str
    content: bytes
    # Plain text as the catalog's text extraction would produce it (HTML tags stripped).
    text: str


@dataclass(frozen=True, slots=True)
class DemoCatalog:
    categories: tuple[DemoCategory, ...]
    products: tuple[ProductSnapshot, ...]
    documents: tuple[DemoDocument, ...]
    # Readable stable keys ("harborline-secure-term-30") for tests and evaluation cases.
    product_slugs: Mapping[str, UUID]

    def product(self, product_id: UUID) -> ProductSnapshot:
        for product in self.products:
            if product.id == product_id:
                return product
        raise KeyError(product_id)

    def product_by_slug(self, slug: str) -> ProductSnapshot:
        return self.product(self.product_slugs[slug])

    def documents_for(self, product_id: UUID) -> list[DemoDocument]:
        return [doc for doc in self.documents if doc.product_id == product_id]


class _TextCollector(HTMLParser):
    """Collects visible text; block-level tags end a line so list items and table cells stay apart."""

    _BLOCK_TAGS = frozenset(
        {"p", "li", "tr", "h1", "h2", "h3", "h4", "br", "div", "table", "ul", "ol", "title"}
    )
    _SKIPPED_TAGS = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in self._BLOCK_TAGS:
            self._parts.append("\n")
        elif tag in {"td", "th"}:
            self._parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCK_TAGS:
            self._parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()).strip(" |") for line in "".join(self._parts).splitlines())
        return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return collector.text()


@cache
def load_demo_catalog() -> DemoCatalog:
    package = resources.files(__name__)
    raw = json.loads(package.joinpath("catalog.json").read_text(encoding="utf-8"))
    updated_at = datetime.fromisoformat(raw["updated_at"])
    categories = tuple(
        DemoCategory(id=UUID(c["id"]), slug=c["slug"], name=c["name"], description=c["description"])
        for c in raw["categories"]
    )
    category_names = {c.id: c.name for c in categories}
    products: list[ProductSnapshot] = []
    slugs: dict[str, UUID] = {}
    for entry in raw["products"]:
        fields = {key: value for key, value in entry.items() if key != "slug"}
        product = ProductSnapshot.model_validate(
            {**fields, "category_name": category_names[UUID(entry["category_id"])], "updated_at": updated_at}
        )
        products.append(product)
        slugs[entry["slug"]] = product.id
    category_of_product = {p.id: p.category_id for p in products}
    documents = []
    for doc in raw["documents"]:
        content = package.joinpath("documents", doc["filename"]).read_bytes()
        decoded = content.decode("utf-8")
        product_id = UUID(doc["product_id"])
        documents.append(
            DemoDocument(
                id=UUID(doc["id"]),
                product_id=product_id,
                category_id=category_of_product[product_id],
                filename=doc["filename"],
                content_type=doc["content_type"],
                content=content,
                text=html_to_text(decoded) if doc["content_type"] == "text/html" else decoded,
            )
        )
    return DemoCatalog(
        categories=categories,
        products=tuple(products),
        documents=tuple(documents),
        product_slugs=MappingProxyType(slugs),
    )
