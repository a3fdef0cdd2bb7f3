"""Response bodies of `/api/rag` made of the shared AI contracts (`parley_contracts.ai`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from parley_contracts import NeedsProfile, Recommendation
from pydantic import BaseModel

from ..adapters.repository import StoredCall
from ..domain.call_status import CallStatus, call_status


class CallResults(BaseModel):
    """The needs profile and the recommendation rag made from one call's transcript.

    `status` is "pending" from the moment rag receives the call's call.ended until both are stored
    (`needs`, `extractor`, `recommendation` and their times are null meanwhile); then "ready", or
    "nothing_fits" when no catalog product is eligible (the recommendation has no items and gives its
    `nothing_fits_reason`). Each recommended item carries its `rationale` and `citations`: the product's
    catalog summary and the document passages (`source` "document", with the `document_id`) that its
    claims were checked against.
    """

    call_id: UUID
    lead_id: UUID
    status: CallStatus
    needs: NeedsProfile | None
    # Which extractor's profile this is: "llm" only when the text model's answer was used.
    extractor: Literal["rules", "llm"] | None
    extracted_at: datetime | None
    recommendation: Recommendation | None
    recommended_at: datetime | None

    @classmethod
    def of(cls, stored: StoredCall) -> CallResults:
        return cls(
            call_id=stored.call_id,
            lead_id=stored.lead_id,
            status=call_status(stored.recommendation),
            needs=stored.needs,
            extractor=stored.extractor,
            extracted_at=stored.extracted_at,
            recommendation=stored.recommendation,
            recommended_at=stored.recommended_at,
        )
