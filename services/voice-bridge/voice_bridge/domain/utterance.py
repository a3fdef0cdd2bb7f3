"""Normalising what a prospect said (typed in a simulated call, or transcribed speech) for the rules.

Transcription writes numbers either way ("forty two", "42"), uses curly apostrophes, and drops or adds
punctuation freely, so the rules match on a normal form: lower case, straight apostrophes, single
spaces, number words turned into digits.
"""

from __future__ import annotations

import re
from enum import StrEnum

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
# A run of number words, allowing "and" and hyphens inside it: "one hundred and fifty", "forty-two".
_NUMBER_RUN = re.compile(rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_SPACES = re.compile(r"\s+")


def _run_value(words: list[str]) -> int:
    total = current = 0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
    return total + current


def _digits_for(match: re.Match[str]) -> str:
    words = [word for word in re.split(r"[\s-]+", match.group(0)) if word and word != "and"]
    # Alone, "oh" is an interjection and "one" usually a pronoun ("no one", "I don't have one").
    if words in (["oh"], ["one"]):
        return match.group(0)
    return str(_run_value(words))


def normalize(text: str) -> str:
    lowered = _SPACES.sub(" ", text.translate(_APOSTROPHES).lower()).strip()
    return _NUMBER_RUN.sub(_digits_for, lowered)


class Answer(StrEnum):
    YES = "yes"
    NO = "no"


# Phrases that contain a "no"/"not" but agree, checked first.
_AGREEING_NEGATIONS = re.compile(
    r"\b(no problem|not a problem|no worries|why not|don'?t mind|do not mind|not at all a problem|of course)\b"
)
_NO = re.compile(
    r"\b(no|nope|nah|not really|rather not|i'?d rather not|prefer not|don'?t|do not|not now|never|no thanks|"
    r"no thank you|that'?s wrong|not right|incorrect|wrong)\b"
)
_YES = re.compile(
    r"\b(yes|yeah|yep|yup|sure|ok|okay|alright|all right|go ahead|fine|please do|sounds good|absolutely|"
    r"definitely|certainly|correct|that'?s right|right|exactly|perfect|great|i do|i am|i have|happy to|go on)\b"
)


_LEADING_YES = re.compile(r"^(yes|yeah|yep|yup|sure|ok|okay|absolutely|definitely|certainly)\b")
_LEADING_NO = re.compile(r"^(no|nope|nah)\b")


def yes_or_no(normalized: str) -> Answer | None:
    """The answer to a yes/no question, or None when the reply is neither or too mixed to tell.

    A reply that opens with "yes" or "no" is taken at that word ("yes, I don't have one" agrees).
    Otherwise the negative phrases are taken out before looking for agreement, so "not right" does
    not also count as "right".
    """
    if _AGREEING_NEGATIONS.search(normalized):
        return Answer.YES
    if _LEADING_YES.match(normalized):
        return Answer.YES
    if _LEADING_NO.match(normalized):
        return Answer.NO
    remainder = _NO.sub(" ", normalized)
    said_no = remainder != normalized
    said_yes = bool(_YES.search(remainder))
    if said_no == said_yes:
        return None
    return Answer.NO if said_no else Answer.YES
