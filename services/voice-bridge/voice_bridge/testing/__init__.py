"""Protocol fakes and rigs for exercising the voice bridge without Twilio or OpenAI.

Reused by this service's tests, other services' tests and `bench/`.
"""

from .audio import b64, mulaw_audio, mulaw_frame, tag_of
from .fake_realtime import (
    AudioReply,
    FakeRealtimeServer,
    FakeRealtimeSession,
    FunctionCallReply,
    ScriptedReply,
    ServerItem,
)
from .fake_twilio import FakeTwilioMediaClient, PlaybackPace
from .media_stream_harness import MediaStreamHarness
from .recording_ports import InMemoryCallJournal, ScriptedToolBackend, ToolInvocation, sample_recommendation
from .rig import BridgeRig, RigCall

__all__ = [
    "AudioReply",
    "BridgeRig",
    "FakeRealtimeServer",
    "FakeRealtimeSession",
    "FakeTwilioMediaClient",
    "FunctionCallReply",
    "InMemoryCallJournal",
    "MediaStreamHarness",
    "PlaybackPace",
    "RigCall",
    "ScriptedReply",
    "ScriptedToolBackend",
    "ServerItem",
    "ToolInvocation",
    "b64",
    "mulaw_audio",
    "mulaw_frame",
    "sample_recommendation",
    "tag_of",
]
