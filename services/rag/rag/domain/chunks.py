"""What goes into the vector index: a summary chunk per product and overlapping chunks of document text.

Every chunk carries its product's metadata (category, age band, monthly premium range, ...) so the
vector search can apply the hard eligibility filters to document passages as well as to summaries.
Chunk ids are stable (`product:<id>`, `doc:<document_id>:<n>`), which makes re-indexing idempotent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from parley_contracts import PremiumPeriod, ProductSnapshot

ChunkKind = Literal["product", "document"]

_PERIOD_WORDS: dict[PremiumPeriod, str] = {
    PremiumPeriod.MONTHLY: "per month",
    PremiumPeriod.QUARTERLY: "per quarter",
    PremiumPeriod.YEARLY: "per year",
    PremiumPeriod.SINGLE: "as a single premium",
}


@dataclass(frozen=True, slots=True)
class ProductMetadata:
    """The product facts a search filters on, copied onto every chunk of the product."""

    product_id: UUID
    product_name: str
    category_name: str
    insurer: str
    plan_type: str
    min_age: int
    max_age: int
    # Both None when the catalog states no premium: such a product is not "beyond budget".
    premium_min_monthly: float | None
    premium_max_monthly: float | None
    tags: tuple[str, ...]

    @classmethod
    def from_snapshot(cls, product: ProductSnapshot) -> ProductMetadata:
        monthly = product.premium_range.monthly() if product.premium_range else (None, None)
        return cls(
            product_id=product.id,
            product_name=product.name,
            category_name=product.category_name,
            insurer=product.insurer,
            plan_type=product.plan_type,
            min_age=product.eligibility.min_age,
            max_age=product.eligibility.max_age,
            premium_min_monthly=monthly[0],
            premium_max_monthly=monthly[1],
            tags=tuple(product.tags),
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    chunk_id: str
    kind: ChunkKind
    product: ProductMetadata
    # What is stored and cited: only catalog or document wording.
    text: str
    # What is embedded. A document passage rarely names its product, so it is prefixed with the
    # product context; otherwise "waiting period of 2 years" matches every product equally.
    embedding_text: str
    document_id: UUID | None = None
    # Order of the chunk within its document (0 for a product summary).
    position: int = 0

    @property
    def embedding_sha256(self) -> str:
        """Fingerprint of what is embedded: a re-index keeps the stored vector while this is unchanged."""
        return hashlib.sha256(self.embedding_text.encode()).hexdigest()


def product_chunk_id(product_id: UUID) -> str:
    return f"product:{product_id}"


def document_chunk_id(document_id: UUID, position: int) -> str:
    return f"doc:{document_id}:{position}"


def format_amount(value: float) -> str:
    """A catalog amount as people write it: `1,500` for whole amounts, `20.50` otherwise."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _feature_lines(features: dict[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in features.items():
        label = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            yield from _feature_lines(value, prefix=f"{label} / ")
        elif isinstance(value, list):
            yield f"{label}: {', '.join(str(item) for item in value)}"
        elif isinstance(value, bool):
            yield f"{label}: {'yes' if value else 'no'}"
        elif value is not None:
            yield f"{label}: {value}"


def product_summary(product: ProductSnapshot) -> str:
    """The product as one passage, most retrieval-relevant facts first.

    Small embedding models read only the first ~256 tokens, so identity, tags, eligibility and price
    come before the long lists. Every figure is written as the catalog states it (no derived amounts),
    so a sentence citing this chunk can be checked against it word for word.
    """
    lines = [
        f"{product.name}: {product.category_name} insurance, {product.plan_type} plan by {product.insurer}."
    ]
    if product.tags:
        lines.append(f"Tags: {', '.join(product.tags)}.")
    eligibility = f"Eligibility: ages {product.eligibility.min_age} to {product.eligibility.max_age}."
    if product.eligibility.notes:
        eligibility += f" {product.eligibility.notes}"
    lines.append(eligibility)
    if product.premium_range:
        premium = product.premium_range
        lines.append(
            f"Premium: {premium.currency} {format_amount(premium.min)} to {format_amount(premium.max)} "
            f"{_PERIOD_WORDS[premium.period]}."
        )
    if product.cover_amount:
        lines.append(f"Cover amount: {product.cover_amount}.")
    if product.description:
        lines.append(product.description)
    for title, items in (
        ("Coverage highlights", product.coverage_highlights),
        ("Riders", product.riders),
        ("Exclusions", product.exclusions),
        ("Claim process", product.claim_process),
    ):
        if items:
            lines.append(f"{title}: {'; '.join(items)}.")
    features = list(_feature_lines(product.features))
    if features:
        lines.append(f"Features: {'; '.join(features)}.")
    return "\n".join(lines)


def build_product_chunk(product: ProductSnapshot) -> Chunk:
    text = product_summary(product)
    return Chunk(
        chunk_id=product_chunk_id(product.id),
        kind="product",
        product=ProductMetadata.from_snapshot(product),
        text=text,
        embedding_text=text,
    )


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    starts_paragraph: bool


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class TextSplitter:
    """Splits extracted document text into passages of about `min_chars`..`max_chars` characters.

    Passages follow paragraphs, then sentences, then words: a passage closes at a paragraph break
    once it holds `min_chars`, and always before it would pass `max_chars`. Each passage after the
    first repeats the last sentences (or, when a sentence is too long, the last words) of the one
    before, up to `overlap_chars`, so a fact spanning a boundary is found whole in one of them.
    """

    max_chars: int = 800
    min_chars: int = 500
    overlap_chars: int = 120

    def __post_init__(self) -> None:
        if not 0 < self.min_chars <= self.max_chars:
            raise ValueError("need 0 < min_chars <= max_chars")
        if not 0 <= self.overlap_chars < self.min_chars:
            raise ValueError("need 0 <= overlap_chars < min_chars")

    def split(self, text: str) -> list[str]:
        passages: list[str] = []
        current: list[_Piece] = []
        for piece in self._pieces(text):
            if current:
                grown = len(_render([*current, piece]))
                at_paragraph_break = piece.starts_paragraph and len(_render(current)) >= self.min_chars
                if grown > self.max_chars or at_paragraph_break:
                    passages.append(_render(current))
                    current = self._overlap(current, room=self.max_chars - len(piece.text) - 1)
            current.append(piece)
        if current:
            passages.append(_render(current))
        return passages

    def _pieces(self, text: str) -> Iterable[_Piece]:
        normalised = text.replace("\r\n", "\n").replace("\r", "\n")
        for block in re.split(r"\n\s*\n", normalised):
            # Extracted PDF text wraps lines mid-sentence: inside a paragraph any whitespace is a space.
            paragraph = " ".join(block.split())
            if not paragraph:
                continue
            first = True
            for sentence in _SENTENCE_BREAK.split(paragraph):
                for part in self._fit(sentence):
                    yield _Piece(part, starts_paragraph=first)
                    first = False

    def _fit(self, sentence: str) -> Iterable[str]:
        """A sentence as parts of at most `max_chars`, cut between words (inside a word only if it must)."""
        part = ""
        for word in sentence.split(" "):
            while len(word) > self.max_chars:
                if part:
                    yield part
                    part = ""
                yield word[: self.max_chars]
                word = word[self.max_chars :]
            if part and len(part) + 1 + len(word) > self.max_chars:
                yield part
                part = ""
            part = f"{part} {word}" if part else word
        if part:
            yield part

    def _overlap(self, previous: list[_Piece], room: int) -> list[_Piece]:
        budget = min(self.overlap_chars, room)
        tail: list[_Piece] = []
        for piece in reversed(previous):
            if len(_render([piece, *tail])) > budget:
                break
            tail.insert(0, piece)
        if tail or budget <= 0:
            return [_Piece(p.text, starts_paragraph=False) for p in tail]
        # The last sentence alone is longer than the overlap: carry its closing words instead.
        words: list[str] = []
        for word in reversed(previous[-1].text.split(" ")):
            if len(" ".join([word, *words])) > budget:
                break
            words.insert(0, word)
        return [_Piece(" ".join(words), starts_paragraph=False)] if words else []


def _render(pieces: list[_Piece]) -> str:
    out = ""
    for index, piece in enumerate(pieces):
        if index:
            out += "\n" if piece.starts_paragraph else " "
        out += piece.text
    return out


def build_document_chunks(
    product: ProductSnapshot, document_id: UUID, text: str, splitter: TextSplitter | None = None
) -> list[Chunk]:
    metadata = ProductMetadata.from_snapshot(product)
    context = f"{product.name} ({product.category_name}, {product.insurer})"
    passages = (splitter or TextSplitter()).split(text)
    return [
        Chunk(
            chunk_id=document_chunk_id(document_id, position),
            kind="document",
            product=metadata,
            text=passage,
            embedding_text=f"{context}: {passage}",
            document_id=document_id,
            position=position,
        )
        for position, passage in enumerate(passages)
    ]
