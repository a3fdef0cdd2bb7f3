"""Where the service's call coordinator lives at run time (installed by an on_startup hook)."""

from __future__ import annotations

from servicekit.runtime import ServiceRuntime

from .service_layer import VoiceCalls
from .transcript_hub import TranscriptHub

VOICE_CALLS = "voice_calls"


def voice_calls_of(runtime: ServiceRuntime) -> VoiceCalls:
    calls = runtime.extras.get(VOICE_CALLS)
    if not isinstance(calls, VoiceCalls):
        raise RuntimeError("the voice-bridge is not started")
    return calls


def transcript_hub_of(runtime: ServiceRuntime) -> TranscriptHub:
    """Where stored transcript lines and call ends are published for live followers (after commit)."""
    return voice_calls_of(runtime).hub
