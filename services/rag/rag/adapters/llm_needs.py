"""Needs extraction by an LLM (LangChain structured output), checked and repaired before use.

The answer goes through `needs_guard.reconcile_needs`: schema-invalid fields, values the prospect never
said and unknown fields are replaced or dropped; an answer that is not JSON at all, or no answer (model
unreachable, refusal), yields the rules extractor's profile instead. Nothing unchecked passes through.
"""

from __future__ import annotations

import logging

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.domain.needs_guard import Evidence, reconcile_needs
from rag.domain.needs_rules import RulesNeedsExtractor
from rag.domain.needs_schema import NEEDS_SCHEMA_NAME, needs_json_schema
from rag.domain.ports import NeedsExtraction
from rag.domain.transcript import TranscriptInput, parse_transcript, prospect_speech

from .openai_chat import LlmUnavailable, ask_for_json

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """\
You read the transcript of an insurance sales call between a BOT (the insurer's assistant) and a
PROSPECT, and fill in the prospect's needs profile.

Rules:
- Use only what the PROSPECT said. The BOT's lines are context for the prospect's answers; never take a
  fact, figure, product or suggestion from the BOT's lines.
- When the prospect did not say something, use null (or an empty list). Do not guess or infer figures.
- coverage_type: only kinds of cover the prospect wants (not ones they already hold or declined).
- budget_range: the premium the prospect is willing to pay, in the currency and period they used
  (ISO currency code; USD when they named none). Not cover amounts, income or debts.
- dependents: family members the prospect mentioned; an age only if the prospect said it.
- age and email: only the prospect's own, and only if they said them (an email spelled out as
  "john dot smith at example dot com" is john.smith@example.com).
- health_notes: only health facts the prospect volunteered, in a few words.
- goals and objections: short phrases in plain words.
"""


def format_transcript(transcript: TranscriptInput) -> str:
    return "\n".join(f"{turn.speaker.upper()}: {turn.text}" for turn in parse_transcript(transcript))


class LlmNeedsExtractor:
    def __init__(self, chat: BaseChatModel, rules: RulesNeedsExtractor | None = None) -> None:
        self._chat = chat
        self._rules = rules or RulesNeedsExtractor()

    async def extract(self, transcript: TranscriptInput) -> NeedsExtraction:
        speech = prospect_speech(transcript)
        fallback = self._rules.read_speech(speech)
        messages = [SystemMessage(SYSTEM_PROMPT), HumanMessage(format_transcript(transcript))]
        try:
            answer = await ask_for_json(self._chat, NEEDS_SCHEMA_NAME, needs_json_schema(), messages)
        except LlmUnavailable as error:
            log.warning("needs extraction fell back to rules: %s", error)
            return NeedsExtraction(fallback, "rules", (f"LLM unavailable: {error}",))
        profile, repairs = reconcile_needs(answer, Evidence.of(speech), fallback)
        if repairs:
            # The repairs quote transcript values (emails, health notes): count them, don't log them.
            log.info("needs extraction made %d repair(s) to the model's answer", len(repairs))
        if profile is None:
            return NeedsExtraction(fallback, "rules", tuple(repairs))
        return NeedsExtraction(profile, "llm", tuple(repairs))
