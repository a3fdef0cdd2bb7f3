"""What a prospect's words mean for the conversation as a whole, whatever question was asked.

Checked in priority order: a do-not-call request beats everything (it must be honoured at once, even
mid-sentence about something else), attempts to extract instructions or other people's data come next,
then wanting out of the call, then objections. Patterns run on `utterance.normalize`d text.
"""

from __future__ import annotations

import re
from enum import StrEnum

from .needs_capture import coverage_types


class Intent(StrEnum):
    DO_NOT_CALL = "do_not_call"
    OFF_LIMITS = "off_limits"  # the prompt, instructions, other customers' data
    NOT_INTERESTED = "not_interested"
    BUSY = "busy"
    GOODBYE = "goodbye"
    TOO_EXPENSIVE = "too_expensive"
    NEED_TO_THINK = "need_to_think"
    ASKS_IF_BOT = "asks_if_bot"
    ASKS_WHO = "asks_who"


_PATTERNS: tuple[tuple[Intent, tuple[re.Pattern[str], ...]], ...] = (
    (
        Intent.DO_NOT_CALL,
        (
            # "please don't call me again", but not "don't call me at work" (a preference, not a refusal).
            re.compile(
                r"\b(?:don'?t|do not|never) (?:ever )?(?:call|ring|phone|contact) (?:me|us|this number|here)"
                r"(?: again| anymore| any more| back| ever)?(?: please)?(?:$|[.!,;])"
            ),
            re.compile(r"\bstop (?:calling|ringing|phoning|contacting)\b"),
            re.compile(
                r"\b(?:remove|delete|take) (?:me|my (?:number|name|details|info(?:rmation)?))\b.*"
                r"\b(?:list|database|records|system)\b"
            ),
            re.compile(r"\b(?:do not call|do-not-call|dnc) (?:list|register|registry)\b"),
        ),
    ),
    (
        Intent.OFF_LIMITS,
        (
            re.compile(
                r"\b(?:ignore|disregard|forget|override) (?:all |any |your |the |my |previous |prior |earlier |above )*"
                r"(?:instructions|rules|prompt|guidelines|programming)\b"
            ),
            re.compile(
                r"\b(?:system prompt|your prompt|your instructions|your rules|your guidelines|initial instructions|"
                r"system message|developer mode|jailbreak|dan mode)\b"
            ),
            re.compile(
                r"\b(?:repeat|print|show|reveal|read out|recite) (?:me )?(?:everything|all|your|the)?"
                r" ?(?:instructions|prompt|text above|words above|configuration|setup)\b"
            ),
            re.compile(r"\b(?:pretend (?:to be|you are)|act as (?:if|a|an)|you are now|from now on you)\b"),
            re.compile(
                r"\b(?:other|another|previous|different) (?:customers?|clients?|callers?|leads?|prospects?|people)\b"
            ),
            re.compile(r"\bwho else (?:did|have|do) you\b"),
            re.compile(
                r"\b(?:someone|somebody|anyone|anybody) else'?s? (?:details|number|email|policy|information|data)\b"
            ),
        ),
    ),
    (
        Intent.NOT_INTERESTED,
        (
            re.compile(r"\bnot interested\b"),
            re.compile(r"\b(?:don'?t|do not) (?:want|need) (?:any |it|this|that|insurance|cover)"),
            re.compile(r"\bnot for me\b"),
            re.compile(r"\bleave me alone\b"),
        ),
    ),
    (
        Intent.BUSY,
        (
            re.compile(
                r"\b(?:i'?m busy|busy right now|busy at the moment|in a meeting|i'?m driving|not a good time|"
                r"bad time|can'?t talk|cannot talk|another time|some other time|in the middle of something)\b"
            ),
            re.compile(r"\bcall (?:me )?back\b"),
            re.compile(r"\bcall (?:me )?(?:later|tomorrow|tonight|next|on|in|at|this|after|before)\b"),
        ),
    ),
    (
        Intent.GOODBYE,
        (re.compile(r"\b(?:bye|goodbye|good bye|have to go|got to go|gotta go|need to go|hanging up)\b"),),
    ),
    (
        Intent.TOO_EXPENSIVE,
        (
            re.compile(
                r"\b(?:too expensive|too much money|costs? too much|can'?t afford|cannot afford|too pricey|"
                r"out of my budget|money is tight|overpriced|too costly|sounds expensive|is expensive)\b"
            ),
        ),
    ),
    (
        Intent.NEED_TO_THINK,
        (
            re.compile(
                r"\b(?:need to think|think about it|think it over|sleep on it|"
                r"talk (?:it over )?(?:to|with) my (?:wife|husband|partner|spouse|family)|discuss (?:it |this )?with)\b"
            ),
        ),
    ),
    (
        Intent.ASKS_IF_BOT,
        (
            re.compile(
                r"\b(?:are you|is this|am i (?:talking|speaking) (?:to|with)) (?:a |an )?(?:real )?"
                r"(?:robot|bot|ai|machine|computer|recording|person|human)\b"
            ),
        ),
    ),
    (
        Intent.ASKS_WHO,
        (
            re.compile(
                r"\b(?:who is this|who are you|who'?s calling|why are you calling|what is this about|"
                r"what'?s this about|where did you get my number|how did you get my number)\b"
            ),
        ),
    ),
)

_DECLINES = re.compile(
    r"\b(?:rather not|prefer not|i'?d rather not|skip|pass|none of your business|not comfortable|that'?s private|"
    r"don'?t want to say|won'?t say)\b"
)


def detect_intent(normalized: str) -> Intent | None:
    for intent, patterns in _PATTERNS:
        if any(pattern.search(normalized) for pattern in patterns):
            if intent is Intent.NOT_INTERESTED and _redirects_interest(normalized):
                continue
            return intent
    return None


def _redirects_interest(normalized: str) -> bool:
    """'Not interested in life cover, but health sounds good' is a preference, not a refusal."""
    return " but " in f" {normalized} " and coverage_types(normalized.split(" but ", 1)[1]) is not None


def declines_to_answer(normalized: str) -> bool:
    return bool(_DECLINES.search(normalized))
