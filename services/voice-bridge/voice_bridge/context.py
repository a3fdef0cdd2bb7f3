"""Where the service's call coordinator lives at run time (installed by an on_startup hook)."""

from __future__ import annotations

from servicekit.runtime import ServiceRuntime

from .service_layer import VoiceCalls

VOICE_CALLS = "voice_calls"


def voice_calls_of(runtime: ServiceRuntime) -> VoiceCalls:
    calls = runtime.extras.get(VOICE_CALLS)
    if not isinstance(calls, VoiceCalls):
        raise RuntimeError("the voice-bridge is not started")
    return calls
