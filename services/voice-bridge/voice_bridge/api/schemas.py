"""Request and response bodies of `/api/voice`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from parley_contracts import CallMode, CallOutcome
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..adapters.personas import StoredPersona
from ..adapters.repository import SessionStatus, StoredLine, VoiceSession
from ..domain.persona import ChosenPersona, Persona


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead_id: uuid.UUID
    mode: CallMode = "simulated"
    persona_id: uuid.UUID | None = Field(
        default=None,
        description="The persona the bot uses (`/api/voice/personas`); the default one if left out.",
    )
    override_calling_hours: bool = Field(
        default=False,
        description="Admins only, phone calls only: place the call even outside the legal calling hours of "
        "the lead's country in every timezone they may be in (or while their timezone is unknown). The "
        "override is audited. Do-not-call, a missing phone number and busy lines are never overridden.",
    )

    @model_validator(mode="after")
    def _override_is_for_phone_calls(self) -> SessionIn:
        if self.override_calling_hours and self.mode != "phone":
            raise ValueError("override_calling_hours applies to phone calls only")
        return self


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class SessionOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    agent_id: uuid.UUID | None
    mode: CallMode
    status: SessionStatus
    direction: str
    task_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    outcome: CallOutcome | None
    end_reason: str | None
    summary: str | None
    email_saved: str | None
    follow_up_at: datetime | None
    do_not_call: bool
    usage: dict[str, Any] | None
    estimated_cost_usd: float | None
    persona_id: uuid.UUID | None = Field(
        description="The stored persona the call was made with; null: the built-in persona, or not started yet."
    )

    @classmethod
    def of(cls, session: VoiceSession) -> SessionOut:
        return cls(
            id=session.id,
            lead_id=session.lead_id,
            agent_id=session.agent_id,
            mode=session.mode,
            status=session.status,
            direction=session.direction,
            task_id=session.task_id,
            created_at=session.created_at,
            started_at=session.started_at,
            ended_at=session.ended_at,
            outcome=session.outcome,
            end_reason=session.end_reason,
            summary=session.summary,
            email_saved=session.email_saved,
            follow_up_at=session.follow_up_at,
            do_not_call=session.do_not_call,
            usage=session.usage,
            estimated_cost_usd=session.estimated_cost_usd,
            persona_id=session.persona_id,
        )


class LineOut(BaseModel):
    seq: int
    speaker: Literal["bot", "prospect", "system"]
    text: str
    at: datetime

    @classmethod
    def of(cls, stored: StoredLine) -> LineOut:
        return cls(seq=stored.seq, speaker=stored.line.speaker, text=stored.line.text, at=stored.line.at)


class TurnOut(BaseModel):
    """A simulated call's turn: the session after it, the new transcript lines, and the bot's reply."""

    session: SessionOut
    reply: str
    lines: list[LineOut] = Field(description="Transcript lines this request added, in order.")
    ended: bool


class TranscriptOut(BaseModel):
    session_id: uuid.UUID
    lines: list[LineOut]


# -- personas ---------------------------------------------------------------------------------------

PersonaName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class PersonaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonaName = Field(
        description="How admins and agents pick the persona, unique (case-insensitively). What the bot calls "
        "itself is `persona.name`."
    )
    persona: Persona


class PersonaOut(BaseModel):
    id: uuid.UUID
    name: str
    persona: Persona
    is_default: bool = Field(description="Calls that name no persona use this one.")
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None

    @classmethod
    def of(cls, stored: StoredPersona) -> PersonaOut:
        return cls(
            id=stored.id,
            name=stored.name,
            persona=stored.persona,
            is_default=stored.is_default,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
            updated_by=stored.updated_by,
        )


class DefaultPersonaOut(BaseModel):
    """The persona calls that name none are made with now."""

    id: uuid.UUID | None = Field(description="null: no persona is marked default, the built-in one is used.")
    built_in: bool
    persona: Persona

    @classmethod
    def of(cls, chosen: ChosenPersona) -> DefaultPersonaOut:
        return cls(id=chosen.id, built_in=chosen.id is None, persona=chosen.persona)
