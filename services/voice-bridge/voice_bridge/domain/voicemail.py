"""The voicemail the bot leaves when answering-machine detection reports a machine (spec 001).

Short (about 20-30 seconds spoken), no product pitch, the callback number read out digit by digit and
repeated, and the callback short link read so it can be typed. Text-to-speech reads "5551234567" as
"five billion…", so numbers and links are spelled into speakable groups here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .persona import Persona

_DIGIT_GROUPS_NANP = (3, 3, 4)


def spoken_phone_number(e164: str) -> str:
    """'+15551234567' -> '5 5 5, 1 2 3, 4 5 6 7'; other countries: 'plus 44, …' in groups of three."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if not digits:
        raise ValueError("phone number has no digits")
    if e164.startswith("+1") and len(digits) == 11:
        groups: list[str] = []
        rest = digits[1:]
        for size in _DIGIT_GROUPS_NANP:
            groups.append(rest[:size])
            rest = rest[size:]
        return ", ".join(" ".join(group) for group in groups)
    # Unknown national format: read in threes, keeping a final group of four rather than a lone digit.
    head, tail = (digits[:-4], digits[-4:]) if len(digits) > 4 else ("", digits)
    groups = [head[i : i + 3] for i in range(0, len(head), 3)] + [tail]
    spoken = ", ".join(" ".join(group) for group in groups if group)
    return f"plus {spoken}" if e164.startswith("+") else spoken


def spoken_link(url: str) -> str:
    """'https://parley.example/c/K7F39QXT' -> 'parley dot example slash c slash K 7 F 3 9 Q X T'."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.").replace(".", " dot ")
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        return host
    *route, code = segments
    spoken_route = " slash ".join(segment.replace(".", " dot ").replace("-", " dash ") for segment in route)
    spoken_code = " ".join(code.upper())
    return " slash ".join(part for part in (host, spoken_route, spoken_code) if part)


def voicemail_message(
    persona: Persona,
    *,
    first_name: str,
    callback_number: str,
    callback_short_url: str | None,
) -> str:
    number = spoken_phone_number(callback_number)
    lines = [
        f"Hi {first_name}, this is {persona.name} from {persona.company}.",
        "Sorry I missed you. I was calling about the insurance information you asked us about.",
        f"You can call us back at {number}.",
    ]
    if callback_short_url:
        lines.append(f"Or pick a time that suits you at {spoken_link(callback_short_url)}.")
    lines.append(f"Again, our number is {number}. Thank you, and have a good day.")
    return " ".join(lines)
