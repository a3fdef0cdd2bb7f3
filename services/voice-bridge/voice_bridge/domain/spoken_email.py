"""Finding an e-mail address in what a prospect said, written or spoken.

Spoken addresses come out of transcription as words: "john dot smith at example dot com", spelled
letters "j o h n at gmail dot com", "at the rate" (common in Indian English), "underscore", "dash".
The address is rebuilt around the "at": backwards over the local part while words are joined by
"dot"/"underscore"/… or are single spelled letters, forwards over the domain while "dot" continues it.
Whatever comes out is checked with `email-validator`, so "call me at three" never becomes an address.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

_WRITTEN = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.IGNORECASE)
_AT_WORDS = re.compile(r"\b(?:at the rate of|at the rate|at sign|at)\b")
_JOINERS = {
    "dot": ".",
    "period": ".",
    "point": ".",
    "underscore": "_",
    "dash": "-",
    "hyphen": "-",
    "plus": "+",
}
_WORD = re.compile(r"[a-z0-9][a-z0-9._+-]*")
_SPELLED_LETTERS = re.compile(r"^(?:[a-z0-9]-)+[a-z0-9]$")  # "j-o-h-n"


def _token(word: str) -> str:
    """A word as part of an address: 'j-o-h-n' -> 'john', trailing punctuation dropped."""
    word = word.strip(".,;:!?")
    return word.replace("-", "") if _SPELLED_LETTERS.match(word) else word


def _local_part(words: list[str]) -> str | None:
    """The local part ending at the last of `words` (the words just before "at")."""
    parts: list[str] = []
    index = len(words) - 1
    expecting_word = True
    while index >= 0:
        word = words[index]
        if expecting_word:
            if not _WORD.fullmatch(word):
                break
            parts.append(word)
            # Spelled letters run together: "j o h n" is one word of the address.
            while (
                len(word) == 1
                and index > 0
                and len(words[index - 1]) == 1
                and _WORD.fullmatch(words[index - 1])
            ):
                index -= 1
                word = words[index]
                parts.append(word)
            expecting_word = False
        elif word in _JOINERS:
            parts.append(_JOINERS[word])
            expecting_word = True
        else:
            break
        index -= 1
    if not parts or expecting_word:
        return None
    return "".join(reversed(parts))


def _domain(words: list[str]) -> str | None:
    """The domain starting at the first of `words` (the words just after "at")."""
    parts: list[str] = []
    expecting_word = True
    for word in words:
        if expecting_word:
            if not _WORD.fullmatch(word):
                break
            parts.append(word)
            expecting_word = False
        elif word in _JOINERS and _JOINERS[word] in ".-":
            parts.append(_JOINERS[word])
            expecting_word = True
        else:
            break
    if not parts:
        return None
    if expecting_word:  # a dangling "dot": drop it
        parts.pop()
    return "".join(parts)


def _valid(candidate: str) -> str | None:
    try:
        return validate_email(candidate, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def find_email(text: str) -> str | None:
    """The e-mail address in `text`, normalised, or None."""
    if (written := _WRITTEN.search(text)) and (address := _valid(written.group(0))):
        return address
    lowered = _AT_WORDS.sub(" @ ", text.lower().replace("@", " @ "))
    words = [_token(word) for word in lowered.split()]
    words = [word for word in words if word]
    for at_index, word in enumerate(words):
        if word != "@":
            continue
        local = _local_part(words[:at_index])
        domain = _domain(words[at_index + 1 :])
        if local and domain and (address := _valid(f"{local}@{domain}")):
            return address
    return None


_SPOKEN_SYMBOLS = {"@": " at ", ".": " dot ", "_": " underscore ", "-": " dash ", "+": " plus "}


def spoken_email(address: str) -> str:
    """How the bot reads an address back: 'john.smith@example.com' -> 'john dot smith at example dot com'."""
    return "".join(_SPOKEN_SYMBOLS.get(char, char) for char in address).replace("  ", " ").strip()
