"""Numbers as people say and write them: "forty-two", "fifteen hundred", "1.5 lakh", "2k", "1,500".

Needs extraction reads figures from spoken transcripts, and the grounding check compares the figures of
a generated sentence with those of its sources; both go through `find_numbers`, so "$2,000,000",
"2 million" and "two million" are the same figure everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90,
}  # fmt: skip
_SCALES: dict[str, int] = {
    "thousand": 1_000, "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000,
    "million": 1_000_000, "crore": 10_000_000, "crores": 10_000_000, "billion": 1_000_000_000,
}  # fmt: skip
# Written right after digits: "2k", "1.5m", "3mn".
_SUFFIX_SCALES: dict[str, int] = {"k": 1_000, "m": 1_000_000, "mn": 1_000_000}

# Digits with thousands separators (western "1,500,000" or Indian "15,00,000"), or plain/decimal digits.
_TOKEN = re.compile(r"\d{1,3}(?:,\d{2,3})+(?:\.\d+)?|\d+(?:\.\d+)?|[A-Za-z]+")


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A number found in text: `text[start:end]` reads as `value`."""

    start: int
    end: int
    value: float
    # True when spelled only in words ("one"): the grounding check ignores a lone "one"/"a", which is
    # more often an article or pronoun than a figure.
    spelled: bool
    word_count: int


@dataclass(slots=True)
class _Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def _digits_value(text: str) -> float:
    return float(text.replace(",", ""))


class _WordNumber:
    """Accumulates a spoken number: "two hundred and fifty thousand" -> 250000."""

    def __init__(self) -> None:
        self.total = 0
        self.current = 0
        self.last: str | None = None  # "unit" | "teen" | "tens" | "hundred" | "scale"
        self.words = 0

    def accepts(self, word: str) -> bool:
        if word in _UNITS:
            value = _UNITS[word]
            if self.last in ("unit", "teen"):
                return False  # "five six" are two numbers
            return not (self.last == "tens" and value >= 10)  # "twenty twelve" is not a number
        if word in _TENS:
            # "two fifty" (250) and "nineteen ninety" (1990) are how amounts and years are said aloud.
            return self.last not in ("unit", "teen", "tens") or self._single_small_word()
        if word == "hundred":
            return self.last in (None, "unit", "teen", "tens")
        if word in _SCALES:
            return self.last is not None and self.last != "scale"
        return False

    def add(self, word: str) -> None:
        self.words += 1
        if word in _UNITS:
            self.current += _UNITS[word]
            self.last = "teen" if _UNITS[word] >= 10 else "unit"
        elif word in _TENS:
            if self.last in ("unit", "teen"):
                self.current *= 100
            self.current += _TENS[word]
            self.last = "tens"
        elif word == "hundred":
            self.current = (self.current or 1) * 100
            self.last = "hundred"
        else:
            self.total += (self.current or 1) * _SCALES[word]
            self.current = 0
            self.last = "scale"

    def _single_small_word(self) -> bool:
        return self.words == 1 and self.last in ("unit", "teen") and self.current > 0

    @property
    def value(self) -> int:
        return self.total + self.current


def _tokens(text: str) -> list[_Token]:
    """Digit groups and words; "forty-two" becomes two words, so each part is a number word."""
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def find_numbers(text: str) -> list[NumberSpan]:
    """Every number in `text`, left to right, with its span and value."""
    tokens = _tokens(text)
    spans: list[NumberSpan] = []
    span: NumberSpan | None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.text[0].isdigit():
            span, index = _read_digits(text, tokens, index)
        else:
            span, index = _read_words(text, tokens, index)
        if span is not None:
            spans.append(span)
    return spans


def _gap(text: str, left: _Token, right: _Token) -> str:
    return text[left.end : right.start]


def _read_digits(text: str, tokens: list[_Token], index: int) -> tuple[NumberSpan, int]:
    token = tokens[index]
    value = _digits_value(token.text)
    end = token.end
    words = 1
    nxt = tokens[index + 1] if index + 1 < len(tokens) else None
    if nxt is not None and _gap(text, token, nxt) == "" and nxt.lower in _SUFFIX_SCALES:
        value *= _SUFFIX_SCALES[nxt.lower]
        end, index, words = nxt.end, index + 1, 2
    elif nxt is not None and _gap(text, token, nxt).strip() == "" and nxt.lower in ("hundred", *_SCALES):
        # "15 hundred", "1.5 lakh", "2 million"; a further scale may follow ("2 hundred thousand").
        value *= 100 if nxt.lower == "hundred" else _SCALES[nxt.lower]
        end, index, words = nxt.end, index + 1, 2
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        if after is not None and _gap(text, nxt, after).strip() == "" and after.lower in _SCALES:
            value *= _SCALES[after.lower]
            end, index, words = after.end, index + 1, 3
    return NumberSpan(token.start, end, value, spelled=False, word_count=words), index + 1


def _read_words(text: str, tokens: list[_Token], index: int) -> tuple[NumberSpan | None, int]:
    start_index = index
    number = _WordNumber()
    last_taken = index - 1
    position = index
    # "a hundred", "a thousand": the article stands for one.
    if tokens[position].lower in ("a", "an") and position + 1 < len(tokens):
        following = tokens[position + 1].lower
        if following == "hundred" or following in _SCALES:
            number.add("one")
            last_taken = position
            position += 1
    while position < len(tokens):
        token = tokens[position]
        gap = _gap(text, tokens[position - 1], token) if position > start_index else ""
        if position > start_index and gap.strip() not in ("", "-"):
            break
        word = token.lower
        if word == "and" and number.last is not None and position + 1 < len(tokens):
            # "two hundred and fifty": "and" joins only when a smaller number word follows a hundred/scale.
            following = tokens[position + 1].lower
            if number.last in ("hundred", "scale") and (following in _UNITS or following in _TENS):
                position += 1
                continue
            break
        if not number.accepts(word):
            break
        number.add(word)
        last_taken = position
        position += 1
    if last_taken < start_index:
        return None, index + 1
    first = tokens[start_index]
    last = tokens[last_taken]
    return (
        NumberSpan(
            first.start, last.end, float(number.value), spelled=True, word_count=last_taken - start_index + 1
        ),
        last_taken + 1,
    )


def format_number(value: float) -> str:
    """Plain digits: 1500 for whole numbers, 1.5 otherwise (no separators, so regexes stay simple)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def normalize_numbers(text: str) -> str:
    """`text` with every number written as plain digits: "fifteen hundred dollars" -> "1500 dollars"."""
    out: list[str] = []
    cursor = 0
    for span in find_numbers(text):
        out.append(text[cursor : span.start])
        out.append(format_number(span.value))
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)
