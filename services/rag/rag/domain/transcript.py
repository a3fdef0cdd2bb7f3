"""What the prospect said, separated from what the bot said.

Needs come only from the prospect's own words. A bare "yes"/"no"/"two" means something only together
with the bot's question, so such a reply is restated as a short first-person sentence ("no" to "Do you
have any existing policy?" -> "no existing policy"). The restatement borrows the topic from the question
and the substance (yes, no, the figure) from the prospect, never a fact from the bot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from parley_contracts import TranscriptLine

from .numbers import find_numbers, format_number

Speaker = Literal["bot", "prospect", "system"]
TranscriptInput = Sequence[TranscriptLine] | str

_SPEAKER_LABELS: dict[str, Speaker] = {
    "bot": "bot", "agent": "bot", "ai": "bot", "assistant": "bot", "sales agent": "bot", "advisor": "bot",
    "adviser": "bot", "system": "system",
    "prospect": "prospect", "customer": "prospect", "caller": "prospect", "lead": "prospect",
    "user": "prospect", "client": "prospect", "me": "prospect",
}  # fmt: skip
_LABEL = re.compile(r"^\s*(" + "|".join(sorted(_SPEAKER_LABELS, key=len, reverse=True)) + r")\s*:\s*", re.I)

_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|correct|right|absolutely|of course|i do|we do|i am|i have|we have)\b", re.I
)
_NO = re.compile(r"^(?:no|nope|nah|not really|none|never|i don't|i do not|we don't|i'm not|i am not)\b", re.I)


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Speaker
    text: str


@dataclass(frozen=True, slots=True)
class ProspectSpeech:
    """The prospect's statements in order, each reply to a yes/no question followed by its restatement."""

    statements: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.statements)


def parse_transcript(transcript: TranscriptInput) -> list[Turn]:
    """Turns from transcript lines, or from text with "Bot:"/"Prospect:"-style labels.

    Unlabelled text lines continue the previous speaker; text without any label is all the prospect's.
    """
    if isinstance(transcript, str):
        return _parse_text(transcript)
    lines: Sequence[TranscriptLine] = transcript
    return [Turn(line.speaker, line.text) for line in lines if line.text.strip()]


def _parse_text(transcript: str) -> list[Turn]:
    lines = [line for line in transcript.splitlines() if line.strip()]
    if not any(_LABEL.match(line) for line in lines):
        return [Turn("prospect", line.strip()) for line in lines]
    turns: list[Turn] = []
    for line in lines:
        labelled = _LABEL.match(line)
        if labelled:
            turns.append(Turn(_SPEAKER_LABELS[labelled.group(1).lower()], line[labelled.end() :].strip()))
        elif turns:
            previous = turns[-1]
            turns[-1] = Turn(previous.speaker, f"{previous.text} {line.strip()}")
        # Text before the first label belongs to no known speaker, so it is not the prospect's.
    return [turn for turn in turns if turn.text]


_LAST_QUESTION = re.compile(r"([^.!?]*\?)\s*$")
_PERIOD_WORDS = re.compile(
    r"\b(monthly|per month|a month|each month|yearly|annually|per year|a year|each year|quarterly)\b", re.I
)
_RELATIVE = r"(kids|children|son|sons|daughter|daughters|wife|husband|partner|mother|mom|father|dad|parents)"


def _first_figure(answer: str) -> str | None:
    figures = find_numbers(answer)
    return format_number(figures[0].value) if figures else None


def _yes_no(answer: str, yes: str | None, no: str | None) -> str | None:
    if _NO.match(answer):
        return no
    if _YES.match(answer):
        return yes
    return None


def _restate(bot_line: str, answer: str) -> str | None:
    """The reply restated as a sentence, when the bot's last sentence is a question we know."""
    asked = _LAST_QUESTION.search(bot_line)
    if not asked:
        return None
    question = asked.group(1).lower()
    answer = answer.strip().rstrip(".!?")
    figure = _first_figure(answer)
    if relative_age := re.search(r"how old (?:is|are) your " + _RELATIVE, question):
        return f"my {relative_age.group(1)} {'are' if relative_age.group(1).endswith('s') else 'is'} {answer}"
    if re.search(r"how old are you\b|\byour age\b", question):
        return f"I am {figure} years old" if figure else None
    if re.search(r"\b(?:kids|children)\b", question):
        if figure and not _NO.match(answer):
            return f"I have {figure} kids"
        return _yes_no(answer, "I have kids", "I have no kids")
    if re.search(r"\b(?:married|spouse|wife|husband|partner)\b", question):
        return _yes_no(answer, "I have a spouse", "I am not married")
    if re.search(r"\b(?:smoke|smoker|smoking|tobacco)\b", question):
        return _yes_no(answer, "I smoke", "I don't smoke")
    if re.search(r"\b(?:insurance|policy|policies|cover|coverage)\b", question) and re.search(
        r"\b(?:already|existing|current|currently|now|have)\b", question
    ):
        return _yes_no(answer, "I already have a policy", "I have no existing policy")
    if re.search(r"\bemail\b", question):
        return _yes_no(answer, "you can email me", None)
    if re.search(r"\b(?:budget|afford|spend)\b", question) and figure:
        statement = f"my budget is {answer}"
        # A budget given as a bare figure is in the period the question asked about ("monthly budget?").
        period = _PERIOD_WORDS.search(question)
        return f"{statement} {period.group(1)}" if period and not _PERIOD_WORDS.search(answer) else statement
    return None


def prospect_speech(transcript: TranscriptInput) -> ProspectSpeech:
    statements: list[str] = []
    last_bot_line = ""
    for turn in parse_transcript(transcript):
        if turn.speaker == "bot":
            last_bot_line = turn.text
            continue
        if turn.speaker != "prospect":
            continue
        statements.append(turn.text)
        restated = _restate(last_bot_line, turn.text) if last_bot_line else None
        if restated:
            statements.append(restated)
        last_bot_line = ""
    return ProspectSpeech(tuple(statements))
