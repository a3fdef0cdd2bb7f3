"""What the caller has actually heard, from the `mark`s Twilio echoes back.

Realtime generates audio faster than real time and Twilio buffers whatever we send, so "sent" is not
"heard". After every chunk of bot audio the bridge sends a Twilio `mark`; Twilio echoes a mark once the
audio before it has played. On barge-in the tracker turns the marks still outstanding into the number
of milliseconds of each assistant item the caller heard, which is what `conversation.item.truncate`
needs so the model's memory matches the caller's ears.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# G.711 mu-law at 8 kHz: one byte per sample, 8 samples per millisecond.
MULAW_BYTES_PER_MS = 8


def mulaw_base64_duration_ms(payload: str) -> float:
    """Audio length of a base64 mu-law payload, without decoding it."""
    padding = payload.count("=", -2)
    return (len(payload) * 3 // 4 - padding) / MULAW_BYTES_PER_MS


@dataclass(frozen=True, slots=True)
class _Chunk:
    mark: str
    item_id: str
    start_ms: float  # position of the chunk inside its item
    end_ms: float
    sent_at: float


@dataclass(frozen=True, slots=True)
class Truncation:
    """How much of one assistant item the caller heard before interrupting."""

    item_id: str
    audio_end_ms: int


class PlaybackTracker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._outstanding: deque[_Chunk] = deque()
        self._item_sent_ms: dict[str, float] = {}
        self._last_ack_at: float | None = None
        self._next_mark = 0

    @property
    def is_playing(self) -> bool:
        """True while some audio we sent has not been confirmed as played."""
        return bool(self._outstanding)

    def sent(self, item_id: str, duration_ms: float) -> str:
        """Record a chunk handed to Twilio; returns the mark name to send right after it."""
        self._next_mark += 1
        mark = f"m{self._next_mark}"
        start_ms = self._item_sent_ms.get(item_id, 0.0)
        end_ms = start_ms + duration_ms
        self._item_sent_ms[item_id] = end_ms
        self._outstanding.append(_Chunk(mark, item_id, start_ms, end_ms, self._clock()))
        return mark

    def playing_items(self) -> set[str]:
        return {chunk.item_id for chunk in self._outstanding}

    def sent_ms(self, item_id: str) -> float:
        return self._item_sent_ms.get(item_id, 0.0)

    def acknowledged(self, mark: str) -> list[str]:
        """Twilio played everything up to `mark`. Returns the items whose audio has now fully played.

        Marks from before a `clear` come back after it (Twilio echoes the marks it discarded); they are
        no longer outstanding and are ignored.
        """
        if not any(chunk.mark == mark for chunk in self._outstanding):
            return []
        touched: set[str] = set()
        while self._outstanding:
            chunk = self._outstanding.popleft()
            touched.add(chunk.item_id)
            if chunk.mark == mark:
                break
        self._last_ack_at = self._clock()
        still_playing = self.playing_items()
        return [item_id for item_id in touched if item_id not in still_playing]

    def interrupt(self) -> list[Truncation]:
        """The caller barged in: how much of each unfinished item was heard. Forgets all outstanding audio.

        The head chunk is the one playing now. It started when the previous mark came back, or when it was
        sent if Twilio's buffer had run dry before it arrived; time since then is what played of it, never
        more than the chunk itself (its own mark has not come back). Items queued behind it were heard only
        up to where their outstanding audio starts.
        """
        if not self._outstanding:
            return []
        head = self._outstanding[0]
        started = head.sent_at if self._last_ack_at is None else max(head.sent_at, self._last_ack_at)
        elapsed_ms = (self._clock() - started) * 1000
        heard = {head.item_id: head.start_ms + min(elapsed_ms, head.end_ms - head.start_ms)}
        for chunk in self._outstanding:
            heard.setdefault(chunk.item_id, chunk.start_ms)
        self._outstanding.clear()
        self._last_ack_at = None
        # Round down (past clock noise): truncating beyond the audio the server generated is an error.
        return [Truncation(item_id, math.floor(ms + 1e-6)) for item_id, ms in heard.items()]
