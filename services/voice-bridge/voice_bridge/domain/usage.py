"""Token usage of one call, summed from Realtime `response.done` and input-transcription events.

Realtime bills text and audio tokens at different rates and discounts cached input, so the totals keep
those apart; the cost is an estimate from a price table the operator configures (prices change, so no
defaults are baked in).
"""

from __future__ import annotations

from dataclasses import dataclass

from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    Usage as TranscriptionUsage,
)
from openai.types.realtime.conversation_item_input_audio_transcription_completed_event import (
    UsageTranscriptTextUsageDuration,
)
from openai.types.realtime.realtime_response_usage import RealtimeResponseUsage
from pydantic import BaseModel, ConfigDict, Field

_PER_MILLION = 1_000_000


class TokenPrices(BaseModel):
    """USD per million tokens (and per minute for duration-billed transcription models)."""

    model_config = ConfigDict(frozen=True)

    text_input: float = Field(ge=0)
    cached_text_input: float = Field(ge=0)
    audio_input: float = Field(ge=0)
    cached_audio_input: float = Field(ge=0)
    text_output: float = Field(ge=0)
    audio_output: float = Field(ge=0)
    transcription_input: float = Field(default=0, ge=0)
    transcription_output: float = Field(default=0, ge=0)
    transcription_per_minute: float = Field(default=0, ge=0)


@dataclass
class UsageTotals:
    responses: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    cached_text_tokens: int = 0
    cached_audio_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    transcription_input_tokens: int = 0
    transcription_output_tokens: int = 0
    transcription_seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add_response(self, usage: RealtimeResponseUsage | None) -> None:
        self.responses += 1
        if usage is None:
            return
        self.input_tokens += usage.input_tokens or 0
        self.output_tokens += usage.output_tokens or 0
        if (incoming := usage.input_token_details) is not None:
            self.input_text_tokens += incoming.text_tokens or 0
            self.input_audio_tokens += incoming.audio_tokens or 0
            if (cached := incoming.cached_tokens_details) is not None:
                self.cached_text_tokens += cached.text_tokens or 0
                self.cached_audio_tokens += cached.audio_tokens or 0
        if (outgoing := usage.output_token_details) is not None:
            self.output_text_tokens += outgoing.text_tokens or 0
            self.output_audio_tokens += outgoing.audio_tokens or 0

    def add_transcription(self, usage: TranscriptionUsage | None) -> None:
        if usage is None:
            return
        if isinstance(usage, UsageTranscriptTextUsageDuration):
            self.transcription_seconds += usage.seconds
        else:
            self.transcription_input_tokens += usage.input_tokens
            self.transcription_output_tokens += usage.output_tokens

    def estimated_cost_usd(self, prices: TokenPrices) -> float:
        # Cached tokens are a subset of the input tokens of the same modality.
        fresh_text = max(self.input_text_tokens - self.cached_text_tokens, 0)
        fresh_audio = max(self.input_audio_tokens - self.cached_audio_tokens, 0)
        per_token = (
            fresh_text * prices.text_input
            + self.cached_text_tokens * prices.cached_text_input
            + fresh_audio * prices.audio_input
            + self.cached_audio_tokens * prices.cached_audio_input
            + self.output_text_tokens * prices.text_output
            + self.output_audio_tokens * prices.audio_output
            + self.transcription_input_tokens * prices.transcription_input
            + self.transcription_output_tokens * prices.transcription_output
        ) / _PER_MILLION
        return round(per_token + self.transcription_seconds / 60 * prices.transcription_per_minute, 6)
