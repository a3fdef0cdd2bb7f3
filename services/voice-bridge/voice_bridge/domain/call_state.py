"""A phone call's progress as Twilio reports it, folded into one monotonic state.

Twilio's status callbacks and the async AMD callback arrive over separate HTTP requests: they can come
out of order (a `ringing` after `in-progress`), twice (Twilio retries a webhook that timed out), or not
at all (`answered` lost, `completed` delivered). So progress only moves forward by rank, the first
terminal status is final, and whoever applies a callback learns from the returned transition whether
anything changed and whether this was the one moment to release the call's concurrency slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parley_contracts import CallOutcome, TelephonyStatus


class CallPhase(StrEnum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def telephony_status(self) -> TelephonyStatus:
        """The value for `CallStatusChanged.status` (every member's value is one)."""
        return self.value


_TERMINAL = frozenset(
    {CallPhase.COMPLETED, CallPhase.BUSY, CallPhase.NO_ANSWER, CallPhase.FAILED, CallPhase.CANCELED}
)
_RANK = {CallPhase.QUEUED: 0, CallPhase.INITIATED: 1, CallPhase.RINGING: 2, CallPhase.IN_PROGRESS: 3}
_TERMINAL_RANK = 4

# `answered` is the StatusCallbackEvent's name; the callback itself says CallStatus=in-progress.
_PHASE_ALIASES = {"answered": CallPhase.IN_PROGRESS}


class UnknownCallStatus(ValueError):
    pass


def parse_call_status(raw: str) -> CallPhase:
    value = raw.strip().lower()
    if value in _PHASE_ALIASES:
        return _PHASE_ALIASES[value]
    try:
        return CallPhase(value)
    except ValueError:
        raise UnknownCallStatus(f"not a Twilio call status: {raw!r}") from None


class AnsweredBy(StrEnum):
    HUMAN = "human"
    MACHINE_START = "machine_start"
    MACHINE_END_BEEP = "machine_end_beep"
    MACHINE_END_SILENCE = "machine_end_silence"
    MACHINE_END_OTHER = "machine_end_other"
    FAX = "fax"
    UNKNOWN = "unknown"

    @property
    def machine(self) -> bool:
        return self in _MACHINE


_MACHINE = frozenset(
    {
        AnsweredBy.MACHINE_START,
        AnsweredBy.MACHINE_END_BEEP,
        AnsweredBy.MACHINE_END_SILENCE,
        AnsweredBy.MACHINE_END_OTHER,
    }
)


def parse_answered_by(raw: str) -> AnsweredBy:
    try:
        return AnsweredBy(raw.strip().lower())
    except ValueError:
        raise UnknownCallStatus(f"not an AnsweredBy value: {raw!r}") from None


class AmdAction(StrEnum):
    CONTINUE = "continue"  # a person (or AMD could not tell): the bot carries on talking
    LEAVE_VOICEMAIL = "leave_voicemail"  # replace the stream with the voicemail TwiML
    HANG_UP = "hang_up"  # a fax: nobody to talk to, nothing to leave
    NONE = "none"  # duplicate verdict, or the call already ended


@dataclass(frozen=True)
class StatusTransition:
    phase: CallPhase
    changed: bool
    # True exactly once per call: on the first terminal status, whatever it is.
    release_slot: bool
    outcome: CallOutcome | None


@dataclass(frozen=True)
class AmdDecision:
    answered_by: AnsweredBy
    action: AmdAction


class CallProgress:
    """One outbound call's telephony state. Not thread-safe; one event loop applies its callbacks."""

    def __init__(self) -> None:
        self.phase = CallPhase.QUEUED
        self.answered_by: AnsweredBy | None = None
        self.answered = False

    @property
    def terminal(self) -> bool:
        return self.phase.terminal

    def apply_status(self, raw_status: str) -> StatusTransition:
        """Fold one status callback in. Raises UnknownCallStatus for values Twilio does not send."""
        incoming = parse_call_status(raw_status)
        if self.terminal or _rank(incoming) <= _rank(self.phase):
            return StatusTransition(self.phase, changed=False, release_slot=False, outcome=self.outcome)
        self.phase = incoming
        if incoming is CallPhase.IN_PROGRESS or incoming is CallPhase.COMPLETED:
            # `completed` is only reported for calls that connected; an answered callback may be lost.
            self.answered = True
        return StatusTransition(incoming, changed=True, release_slot=incoming.terminal, outcome=self.outcome)

    def apply_amd(self, raw_answered_by: str) -> AmdDecision:
        """Fold in the async AMD verdict and say what to do about it."""
        verdict = parse_answered_by(raw_answered_by)
        if self.answered_by is not None:
            return AmdDecision(self.answered_by, AmdAction.NONE)
        self.answered_by = verdict
        # AMD only runs on an answered call, even when its `answered` callback has not arrived yet.
        self.answered = True
        if self.terminal:
            return AmdDecision(verdict, AmdAction.NONE)
        if verdict.machine:
            # With DetectMessageEnd Twilio reports a machine once its greeting has ended, which is when
            # a voicemail must start. `machine_start` only comes from the `Enable` mode; leaving the
            # message then still beats hanging up on the lead's voicemail.
            return AmdDecision(verdict, AmdAction.LEAVE_VOICEMAIL)
        if verdict is AnsweredBy.FAX:
            return AmdDecision(verdict, AmdAction.HANG_UP)
        # `unknown`: Twilio's AMD is tuned to favour humans, and the bot is already talking.
        return AmdDecision(verdict, AmdAction.CONTINUE)

    @property
    def outcome(self) -> CallOutcome | None:
        """The telephony outcome once the call is over, None while it lasts."""
        if not self.terminal:
            return None
        if self.answered_by is not None and self.answered_by.machine:
            return CallOutcome.VOICEMAIL
        if self.answered_by is AnsweredBy.FAX:
            return CallOutcome.FAILED
        return _TERMINAL_OUTCOMES[self.phase]


_TERMINAL_OUTCOMES = {
    CallPhase.COMPLETED: CallOutcome.ANSWERED,
    CallPhase.BUSY: CallOutcome.BUSY,
    CallPhase.NO_ANSWER: CallOutcome.NO_ANSWER,
    CallPhase.FAILED: CallOutcome.FAILED,
    # Canceled means we withdrew the call before it was answered (the agent stopped it, shutdown):
    # the lead was not reached, so the scheduler treats it like an unanswered attempt.
    CallPhase.CANCELED: CallOutcome.NO_ANSWER,
}


def _rank(phase: CallPhase) -> int:
    return _TERMINAL_RANK if phase.terminal else _RANK[phase]


def final_outcome(telephony: CallOutcome, conversation: CallOutcome | None) -> CallOutcome:
    """Combine how the call went on the line with what was decided in it.

    Only a call a person answered has a conversation outcome (do-not-call, not interested, callback);
    for voicemail, busy, no-answer and failures the telephony outcome stands.
    """
    if telephony is CallOutcome.ANSWERED and conversation is not None:
        return conversation
    return telephony
