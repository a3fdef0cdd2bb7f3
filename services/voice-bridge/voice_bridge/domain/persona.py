"""The bot's persona: who it says it is, how it sounds and which needs questions it asks, in what order.

Admins edit personas in the console, so everything here is validated: the greeting is a template with
a fixed set of placeholders (no attribute access, which `str.format` would otherwise allow), the voice
is one Realtime offers, and each needs topic is asked at most once. Whether a topic is sensitive (health,
income) is not configurable: the bot always asks permission first (spec 000 §6).
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

GREETING_PLACEHOLDERS = frozenset({"first_name", "agent_name", "company"})

RealtimeVoice = Literal[
    "alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"
]


class QuestionTopic(StrEnum):
    COVERAGE = "coverage"
    DEPENDENTS = "dependents"
    AGE = "age"
    BUDGET = "budget"
    HEALTH = "health"
    INCOME = "income"
    EXISTING_POLICY = "existing_policy"
    GOALS = "goals"
    URGENCY = "urgency"


SENSITIVE_TOPICS = frozenset({QuestionTopic.HEALTH, QuestionTopic.INCOME})


class QualificationQuestion(BaseModel):
    # A misspelt field from the console is refused, never silently dropped.
    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: QuestionTopic
    text: str = Field(min_length=3, max_length=300)
    # Asked before `text` for sensitive topics; the default is used when an admin leaves it empty.
    permission_text: str | None = Field(default=None, max_length=300)

    @property
    def sensitive(self) -> bool:
        return self.topic in SENSITIVE_TOPICS

    def permission_prompt(self) -> str:
        if self.permission_text:
            return self.permission_text
        subject = "your health" if self.topic is QuestionTopic.HEALTH else "your income"
        return (
            f"Would you be comfortable with a quick question about {subject}? "
            "It's completely fine to skip it."
        )


DEFAULT_QUESTIONS: tuple[QualificationQuestion, ...] = (
    QualificationQuestion(
        topic=QuestionTopic.COVERAGE,
        text="What kind of cover have you been thinking about? For example life, health, or something else?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.DEPENDENTS,
        text="Is there anyone who depends on you financially, like a partner or children?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.AGE,
        text="May I ask how old you are? It helps me check which plans you'd be eligible for.",
    ),
    QualificationQuestion(
        topic=QuestionTopic.BUDGET,
        text="Roughly what monthly budget would feel comfortable for you?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.HEALTH,
        text="Do you have any health conditions you'd like the cover to take into account?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.EXISTING_POLICY,
        text="Do you have any insurance in place at the moment, perhaps through work?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.GOALS,
        text="What matters most to you from this cover? Protecting your family, paying off a mortgage, "
        "saving for later?",
    ),
    QualificationQuestion(
        topic=QuestionTopic.URGENCY,
        text="Is this something you'd like to have in place soon, or are you exploring options for now?",
    ),
)


class Persona(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="Maya", min_length=1, max_length=40)
    company: str = Field(default="Parley Insurance", min_length=1, max_length=80)
    greeting: str = Field(
        default="Hi {first_name}, this is {agent_name}, an AI assistant calling from {company}.",
        min_length=1,
        max_length=300,
    )
    tone: str = Field(
        default="warm, calm and patient; plain language and short sentences; never salesy",
        max_length=300,
    )
    voice: RealtimeVoice = "marin"
    # BCP 47 tag; the Realtime bot speaks it and TwiML <Say> uses it for the voicemail.
    language: str = Field(default="en-US", pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    questions: tuple[QualificationQuestion, ...] = DEFAULT_QUESTIONS

    @field_validator("greeting")
    @classmethod
    def _greeting_uses_known_placeholders(cls, value: str) -> str:
        for _, field_name, format_spec, conversion in string.Formatter().parse(value):
            if field_name is None:
                continue
            if field_name not in GREETING_PLACEHOLDERS or format_spec or conversion:
                allowed = ", ".join("{" + name + "}" for name in sorted(GREETING_PLACEHOLDERS))
                raise ValueError(f"greeting may only use the placeholders {allowed}")
        return value

    @field_validator("questions")
    @classmethod
    def _each_topic_once(cls, value: tuple[QualificationQuestion, ...]) -> tuple[QualificationQuestion, ...]:
        topics = [question.topic for question in value]
        if len(set(topics)) != len(topics):
            raise ValueError("each question topic may appear only once")
        if QuestionTopic.COVERAGE not in topics:
            raise ValueError("the coverage question is required: products are looked up by it")
        return value

    def render_greeting(self, first_name: str) -> str:
        return self.greeting.format(first_name=first_name, agent_name=self.name, company=self.company)


DEFAULT_PERSONA = Persona()


@dataclass(frozen=True)
class ChosenPersona:
    """The persona a call is made with, and the stored persona it came from (None: the built-in
    `DEFAULT_PERSONA`, used while admins have stored no default)."""

    id: uuid.UUID | None
    persona: Persona


BUILT_IN_PERSONA = ChosenPersona(None, DEFAULT_PERSONA)

# Resolves the persona for a call as it starts: a stored persona by id, or the current default for None.
PersonaLookup = Callable[[uuid.UUID | None], Awaitable[ChosenPersona]]


async def built_in_persona(persona_id: uuid.UUID | None) -> ChosenPersona:
    """A `PersonaLookup` without storage: only the built-in default exists."""
    if persona_id is not None:
        raise LookupError(f"persona {persona_id} not found")
    return BUILT_IN_PERSONA


_MAX_FIRST_NAME = 40
_NAME_CHARS = re.compile(r"[^\w'\-]", re.UNICODE)


def first_name_of(full_name: str) -> str:
    """The name to address a lead by: the first word of their name, or a neutral fallback.

    Names come from CSV imports and web forms, so only letters, digits, apostrophes and hyphens are
    kept: whatever else a "name" contains is not read out to the prospect or put into a prompt.
    """
    for word in full_name.split():
        cleaned = _NAME_CHARS.sub("", word)[:_MAX_FIRST_NAME]
        if cleaned:
            return cleaned
    return "there"
