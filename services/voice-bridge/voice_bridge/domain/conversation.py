"""The conversation as the caller experienced it: spoken turns and tool exchanges, in order.

It is the call transcript (spoken turns only) and, when the Realtime socket has to be replaced, the
history a fresh session is seeded with. A bot turn the caller cut off is kept only up to roughly where
playback stopped, so neither the stored transcript nor a re-seeded model "remembers" words the caller
never heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from openai.types.realtime.conversation_item_param import ConversationItemParam
from parley_contracts import TranscriptLine

Speaker = Literal["bot", "prospect"]


def cut_to_heard(text: str, heard_ms: float, generated_ms: float) -> str:
    """The words of `text` the caller heard, assuming speech is spread evenly over its audio.

    An approximation (speech rate varies), cut at a word boundary and marked with an ellipsis.
    """
    if generated_ms <= 0 or heard_ms >= generated_ms:
        return text
    words = text.split()
    kept = words[: int(len(words) * max(heard_ms, 0) / generated_ms)]
    return f"{' '.join(kept)}…" if kept else ""


@dataclass(slots=True)
class _Turn:
    speaker: Speaker
    item_id: str
    at: datetime
    text: str | None = None
    heard_ms: float | None = None
    generated_ms: float | None = None

    def final_text(self) -> str:
        if self.text is None:
            return ""
        if self.heard_ms is None or self.generated_ms is None:
            return self.text
        return cut_to_heard(self.text, self.heard_ms, self.generated_ms)


@dataclass(slots=True)
class _ToolExchange:
    call_id: str
    name: str
    arguments: str
    at: datetime
    output: str | None = None


class ConversationHistory:
    def __init__(self) -> None:
        self._entries: list[_Turn | _ToolExchange] = []
        self._turns: dict[str, _Turn] = {}
        self._tool_calls: dict[str, _ToolExchange] = {}

    def turn_started(self, speaker: Speaker, item_id: str, at: datetime) -> None:
        """A turn begins (speech detected, or first bot audio). Its text comes later; order is by start."""
        if item_id not in self._turns:
            turn = _Turn(speaker, item_id, at)
            self._turns[item_id] = turn
            self._entries.append(turn)

    def turn_text(self, speaker: Speaker, item_id: str, text: str, at: datetime) -> None:
        self.turn_started(speaker, item_id, at)
        self._turns[item_id].text = text.strip()

    def turn_interrupted(self, item_id: str, heard_ms: float, generated_ms: float) -> None:
        if (turn := self._turns.get(item_id)) is not None:
            turn.heard_ms, turn.generated_ms = heard_ms, generated_ms

    def transcript_line(self, item_id: str) -> TranscriptLine | None:
        """The line for a finished turn, or None if nothing audible was said."""
        turn = self._turns.get(item_id)
        if turn is None or not (text := turn.final_text()):
            return None
        return TranscriptLine(speaker=turn.speaker, text=text, at=turn.at)

    def transcript(self) -> list[TranscriptLine]:
        lines = (self.transcript_line(turn.item_id) for turn in self._ordered_turns())
        return [line for line in lines if line is not None]

    def tool_called(self, call_id: str, name: str, arguments: str, at: datetime) -> bool:
        """Records a function call; False if this call id was already seen (the call is announced twice)."""
        if call_id in self._tool_calls:
            return False
        exchange = _ToolExchange(call_id, name, arguments, at)
        self._tool_calls[call_id] = exchange
        self._entries.append(exchange)
        return True

    def tool_answered(self, call_id: str, output: str) -> None:
        self._tool_calls[call_id].output = output

    def seed_items(self) -> list[ConversationItemParam]:
        """The history as `conversation.item.create` items for a fresh Realtime session."""
        items: list[ConversationItemParam] = []
        for entry in sorted(self._entries, key=lambda e: e.at):
            if isinstance(entry, _ToolExchange):
                items.append(
                    {
                        "type": "function_call",
                        "call_id": entry.call_id,
                        "name": entry.name,
                        "arguments": entry.arguments,
                    }
                )
                if entry.output is not None:
                    items.append(
                        {"type": "function_call_output", "call_id": entry.call_id, "output": entry.output}
                    )
            elif text := entry.final_text():
                if entry.speaker == "prospect":
                    items.append(
                        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
                    )
                else:
                    items.append(
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": text}],
                        }
                    )
        return items

    def _ordered_turns(self) -> list[_Turn]:
        return sorted((e for e in self._entries if isinstance(e, _Turn)), key=lambda t: t.at)
