"""mu-law 8 kHz test audio. Frames can carry a numeric tag so a test or bench can follow one frame
through the bridge and time it."""

from __future__ import annotations

import base64

MULAW_SILENCE = 0xFF  # mu-law code for a zero sample
FRAME_MS = 20
BYTES_PER_MS = 8
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
_TAG_BYTES = 8


def mulaw_audio(ms: int, tag: int | None = None) -> bytes:
    """`ms` of mu-law silence; with `tag`, the first 8 bytes hold it (still valid mu-law)."""
    audio = bytearray([MULAW_SILENCE]) * (ms * BYTES_PER_MS)
    if tag is not None:
        audio[:_TAG_BYTES] = tag.to_bytes(_TAG_BYTES, "big")
    return bytes(audio)


def mulaw_frame(tag: int | None = None) -> bytes:
    """One 20 ms Media Streams frame."""
    return mulaw_audio(FRAME_MS, tag)


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


def tag_of(payload: str) -> int:
    """The tag of a base64 frame built by `mulaw_audio(..., tag=...)`."""
    return int.from_bytes(base64.b64decode(payload[:12])[:_TAG_BYTES], "big")
