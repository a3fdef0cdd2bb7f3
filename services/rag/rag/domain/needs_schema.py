"""The strict JSON schema of a needs profile (spec 000 §6), and validation against it.

`NeedsProfile` in the contracts is lenient on purpose (defaults, unknown fields ignored) so old and new
producers interoperate. What an extractor produces is held to a stricter shape first: every field
present, no extra fields, no type coercion, bounded sizes, coverage types from the shared vocabulary.
The same model gives the JSON schema sent to the LLM as `response_format` (it is already in OpenAI's
strict form: all properties required, `additionalProperties: false`, no defaults), so the model is
asked for exactly what is then checked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from parley_contracts import NeedsProfile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

CoverageTypeValue = Literal[
    "life",
    "health",
    "critical_illness",
    "investment",
    "child_education",
    "retirement",
    "motor",
    "travel",
    "home",
]
RelationValue = Literal[
    "spouse", "wife", "husband", "partner", "child", "son", "daughter", "mother", "father", "parent",
    "grandparent", "sibling", "other",
]  # fmt: skip

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Bounds of the schema that extractors must respect, not just the validator.
MAX_AMOUNT = 100_000_000
MAX_DEPENDENTS = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class BudgetWire(_Strict):
    min: float | None = Field(ge=0, le=MAX_AMOUNT, description="Lowest amount the prospect said, or null.")
    max: float | None = Field(ge=0, le=MAX_AMOUNT, description="Highest amount the prospect said, or null.")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD, EUR, GBP, INR.")
    period: Literal["MONTHLY", "QUARTERLY", "YEARLY", "SINGLE"] = Field(
        description="The period the prospect's amount is for."
    )

    @model_validator(mode="after")
    def _ordered(self) -> BudgetWire:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("budget min is above max")
        return self


class DependentWire(_Strict):
    relation: RelationValue
    age: int | None = Field(ge=0, le=120, description="Age if the prospect said it, else null.")


class ExistingPolicyWire(_Strict):
    has_policy: bool
    details: str | None = Field(max_length=300, description="What the prospect said about it, or null.")


class NeedsProfileWire(_Strict):
    coverage_type: list[CoverageTypeValue] = Field(
        max_length=9, description="Kinds of cover the prospect wants."
    )
    budget_range: BudgetWire | None = Field(description="Premium budget the prospect stated, or null.")
    dependents: list[DependentWire] = Field(
        max_length=12, description="Family members the prospect mentioned."
    )
    goals: list[ShortText] = Field(max_length=10, description="What the prospect wants the cover to achieve.")
    existing_policy: ExistingPolicyWire | None = Field(
        description="Null unless the prospect said either way."
    )
    urgency: Literal["LOW", "MEDIUM", "HIGH"] | None
    objections: list[ShortText] = Field(max_length=10, description="Concerns the prospect raised.")
    health_notes: str | None = Field(
        max_length=500, description="Only health facts the prospect volunteered."
    )
    preferred_contact_mode: Literal["phone", "email", "sms", "whatsapp"] | None
    age: int | None = Field(ge=0, le=120, description="The prospect's own age if said, else null.")
    email: str | None = Field(
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Only an address the prospect said.",
    )
    risk_tolerance: Literal["low", "medium", "high"] | None


NEEDS_SCHEMA_NAME = "needs_profile"


def needs_json_schema() -> dict[str, Any]:
    return NeedsProfileWire.model_json_schema()


def validate_needs(data: Any) -> NeedsProfile:
    """A `NeedsProfile` from data that passes the strict schema; raises `pydantic.ValidationError`."""
    wire = NeedsProfileWire.model_validate(data)
    return NeedsProfile.model_validate(wire.model_dump())


def to_wire_dict(profile: NeedsProfile) -> dict[str, Any]:
    """The profile in the strict wire shape (every field present), e.g. to compare or re-validate."""
    data = profile.model_dump(mode="json")
    return {name: data.get(name) for name in NeedsProfileWire.model_fields}
