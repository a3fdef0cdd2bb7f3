"""HTTP request/response models for the catalog (validation lives here, at the edge)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Self
from uuid import UUID

from parley_contracts import PremiumPeriod, ProductSnapshot
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_FEATURES_JSON_CHARS = 20_000

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PlanType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Point = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _bounded_features(features: dict[str, Any]) -> dict[str, Any]:
    if any(not key.strip() or len(key) > 100 for key in features):
        raise ValueError("feature names must be 1-100 characters")
    if len(json.dumps(features)) > MAX_FEATURES_JSON_CHARS:
        raise ValueError(f"features must serialise to at most {MAX_FEATURES_JSON_CHARS} characters of JSON")
    return features


Tags = Annotated[list[Tag], Field(max_length=30), AfterValidator(_unique)]
Points = Annotated[list[Point], Field(max_length=50)]
Features = Annotated[dict[str, Any], AfterValidator(_bounded_features)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CategoryIn(_Strict):
    name: CategoryName
    description: Description | None = None


class CategoryPatch(_Strict):
    name: CategoryName | None = None
    description: Description | None = None


class CategoryOut(BaseModel):
    id: UUID
    name: str
    description: str | None
    product_count: int = Field(description="products in the category that the caller can see")
    created_at: datetime
    updated_at: datetime


class EligibilityIn(_Strict):
    min_age: int = Field(default=0, ge=0, le=120)
    max_age: int = Field(default=120, ge=0, le=120)
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_age > self.max_age:
            raise ValueError("min_age must not be greater than max_age")
        return self


class PremiumRangeIn(_Strict):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    min: float = Field(ge=0, le=1e9)
    max: float = Field(ge=0, le=1e9)
    period: PremiumPeriod = PremiumPeriod.MONTHLY
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError("premium min must not be greater than max")
        return self


class ProductIn(_Strict):
    name: Name
    category_id: UUID
    insurer: Name
    plan_type: PlanType = Field(description="term, health, ULIP, …")
    eligibility: EligibilityIn = Field(default_factory=EligibilityIn)
    coverage_highlights: Points = Field(default_factory=list)
    premium_range: PremiumRangeIn | None = None
    cover_amount: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    exclusions: Points = Field(default_factory=list)
    riders: Points = Field(default_factory=list)
    claim_process: Points = Field(default_factory=list)
    tags: Tags = Field(default_factory=list)
    features: Features = Field(default_factory=dict)
    description: Description | None = None
    active: bool = Field(default=True, description="inactive products are hidden from agents and the index")


class ProductPatch(_Strict):
    """Fields to change; `eligibility` and `premium_range` are replaced whole, `null` clears an optional field."""

    name: Name | None = None
    category_id: UUID | None = None
    insurer: Name | None = None
    plan_type: PlanType | None = None
    eligibility: EligibilityIn | None = None
    coverage_highlights: Points | None = None
    premium_range: PremiumRangeIn | None = None
    cover_amount: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    exclusions: Points | None = None
    riders: Points | None = None
    claim_process: Points | None = None
    tags: Tags | None = None
    features: Features | None = None
    description: Description | None = None
    active: bool | None = None


class ProductOut(ProductSnapshot):
    active: bool
    created_at: datetime


class DocumentOut(BaseModel):
    id: UUID
    product_id: UUID
    product_name: str
    category_id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    page_count: int | None
    text_chars: int
    excerpt: str = Field(description="the start of the extracted text")
    uploaded_by: UUID | None
    created_at: datetime
    download_url: str


class ReindexReport(BaseModel):
    products: int = Field(description="catalog.product.upserted events queued")
    documents: int = Field(description="catalog.document.uploaded events queued")
