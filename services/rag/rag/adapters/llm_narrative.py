"""Recommendation narrative and rationales written by an LLM from the cited sources only.

The model gets the prospect's needs and, per product, the catalog summary and retrieved passages, and
answers in a strict JSON schema. Its text is not trusted: the recommender runs it through the grounding
check, which removes any sentence with a figure or claim the sources do not state. When the model cannot
be asked or answers malformed JSON, the deterministic template is used (and labelled offline).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from parley_contracts import NeedsProfile
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.domain.chunks import product_summary
from rag.domain.narrative import describe_needs, template_narrative
from rag.domain.ports import NarrativeDraft, NarrativeSource

from .openai_chat import LlmUnavailable, ask_for_json

log = logging.getLogger(__name__)

NARRATIVE_SCHEMA_NAME = "recommendation_narrative"

SYSTEM_PROMPT = """\
You write a short, warm, non-pushy explanation of why the listed insurance products suit a prospect.

Rules:
- State only facts found in the SOURCES given for each product. Never add a benefit, figure, waiting
  period, price or condition that is not written there, and never compute new figures.
- Mention only the listed products, by their exact names.
- narrative: 2 to 4 sentences for the prospect, introducing the products.
- rationales: for each product id, 1 to 3 sentences on why it fits the prospect's needs.
"""


class _Rationale(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    product_id: str
    rationale: str = Field(max_length=800)


class NarrativeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    narrative: str = Field(max_length=2000)
    rationales: list[_Rationale] = Field(max_length=10)


def _sources_message(needs: NeedsProfile, sources: Sequence[NarrativeSource]) -> str:
    payload: dict[str, Any] = {
        "needs": describe_needs(needs),
        "products": [
            {
                "product_id": str(source.product.id),
                "name": source.product.name,
                "sources": [product_summary(source.product), *(passage.text for passage in source.passages)],
            }
            for source in sources
        ],
    }
    return json.dumps(payload, ensure_ascii=False)


class LlmNarrativeWriter:
    def __init__(self, chat: BaseChatModel) -> None:
        self._chat = chat

    async def write(self, needs: NeedsProfile, sources: Sequence[NarrativeSource]) -> NarrativeDraft:
        messages = [SystemMessage(SYSTEM_PROMPT), HumanMessage(_sources_message(needs, sources))]
        try:
            raw = await ask_for_json(
                self._chat, NARRATIVE_SCHEMA_NAME, NarrativeAnswer.model_json_schema(), messages
            )
            answer = NarrativeAnswer.model_validate_json(raw)
        except (LlmUnavailable, ValidationError) as error:
            log.warning("narrative fell back to the template: %s", type(error).__name__)
            return NarrativeDraft(narrative=template_narrative(needs, sources), mode="offline")
        known = {str(source.product.id): source.product.id for source in sources}
        rationales: dict[UUID, str] = {
            known[item.product_id]: item.rationale for item in answer.rationales if item.product_id in known
        }
        return NarrativeDraft(narrative=answer.narrative, mode="llm", rationales=rationales)
