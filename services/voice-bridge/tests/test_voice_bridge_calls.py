"""Whole calls through the real bridge: a fake Twilio on one side, a fake Realtime server (real SDK)
on the other, the Twilio side served by Starlette under uvicorn as in production."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from parley_contracts import CallOutcome, TranscriptLine
from voice_bridge.adapters.realtime import RealtimeUnavailable
from voice_bridge.call_bridge import BridgeSettings, CallBridge
from voice_bridge.domain.call import CallContext, EndReason
from voice_bridge.domain.ports import EventLogEntry
from voice_bridge.domain.usage import TokenPrices
from voice_bridge.testing import (
    AudioReply,
    BridgeRig,
    FakeRealtimeSession,
    FunctionCallReply,
    RigCall,
    ScriptedToolBackend,
    b64,
    mulaw_frame,
)

GREETING = AudioReply("Hi, this is Ava from Parley. Is now a good time?", audio_ms=1000, chunk_ms=100)


def types_of(session: FakeRealtimeSession) -> list[str]:
    return [e["type"] for e in session.received]


def function_outputs(session: FakeRealtimeSession) -> list[dict[str, Any]]:
    items = [e["item"] for e in session.events_of("conversation.item.create")]
    return [json.loads(i["output"]) for i in items if i["type"] == "function_call_output"]


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def transcript_lines(call: RigCall, count: int, timeout: float = 5.0) -> list[str]:
    """The first `count` transcript lines the bridge journaled, waiting for them if needed."""
    await eventually(lambda: len(call.journal.lines) >= count, timeout)
    return [line.text for line in call.journal.lines]


# ---------------------------------------------------------------------------- start, audio relay


async def test_prewarm_configures_the_session_before_twilio_starts_and_the_bot_speaks_first() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        bridge, _ = rig.new_bridge()
        await bridge.prewarm()
        session = await rig.realtime_server.session(0)
        assert types_of(session) == ["session.update"]  # configured, and silent while the phone rings

        twilio, _ = await rig.connect_twilio(bridge)
        await session.wait_for("response.create")  # answered: the bot greets first
        await twilio.wait_for("media")
        await twilio.stop()


async def test_audio_relays_both_ways_untouched() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        call = await rig.place_call()

        # Realtime -> Twilio: every delta becomes a media message with the same payload, then a mark.
        await call.realtime.response_finished()
        await call.twilio.wait_for("media", count=10)
        bot_messages = [m for m in call.twilio.received if m["event"] in ("media", "mark")]
        assert [m["event"] for m in bot_messages] == ["media", "mark"] * 10
        assert all(m["streamSid"] == call.twilio.stream_sid for m in bot_messages)
        deltas = [e for e in call.realtime.sent if e["type"] == "response.output_audio.delta"]
        assert call.twilio.media_received == [d["delta"] for d in deltas]

        # Twilio -> Realtime: every 20 ms frame becomes an append with the same payload, in order.
        sent = await call.twilio.stream([mulaw_frame(tag) for tag in range(25)], paced=False)
        await call.realtime.wait_for("input_audio_buffer.append", count=25)
        assert call.realtime.appended_audio == sent

        summary = await call.hang_up()
        assert summary.counters.caller_frames_in == 25 and summary.counters.bot_chunks_out == 10
        assert summary.counters.caller_frames_dropped == 0


async def test_without_prewarm_the_session_opens_on_start_and_early_audio_is_kept() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        call = await rig.place_call(prewarm=False)
        sent = await call.twilio.stream([mulaw_frame(tag) for tag in range(5)], paced=False)

        await call.realtime.wait_for("input_audio_buffer.append", count=5)
        assert call.realtime.appended_audio == sent
        await call.twilio.wait_for("media")
        await call.hang_up()


# ---------------------------------------------------------------------------- barge-in


async def test_barge_in_truncates_at_what_was_heard_clears_twilio_and_resets_marks() -> None:
    async with BridgeRig(replies=[GREETING], playback="manual") as rig:
        call = await rig.place_call()
        await call.realtime.wait_for("response.create")
        await call.twilio.wait_for("mark", count=10)  # all 1000 ms queued at Twilio, nothing played yet

        await call.twilio.play(300)  # Twilio plays three 100 ms chunks and echoes their marks
        await call.realtime.response_finished()
        await call.realtime.speech_started()

        truncate = await call.realtime.wait_for("conversation.item.truncate")
        await call.twilio.wait_for("clear")
        assistant_item = call.realtime.conversation[0].id
        assert truncate["item_id"] == assistant_item and truncate["content_index"] == 0
        # At least the acknowledged 300 ms; at most the chunk that was playing (its mark never came).
        assert 300 <= truncate["audio_end_ms"] <= 400
        assert call.realtime.truncations == [truncate]  # the server accepted it (within generated audio)
        # Twilio echoes the marks it discarded; the bridge ignores them, so a new reply starts clean.
        assert len(call.twilio.marks_echoed) == 10

        call.realtime.start_response(AudioReply("Sorry, go ahead.", audio_ms=200))
        await call.twilio.wait_for("media", count=12)
        await call.twilio.play(200)
        summary = await call.hang_up()

    assert summary.counters.barge_ins == 1
    [greeting_line, reply_line] = summary.transcript
    assert greeting_line.text.endswith("…") and len(greeting_line.text) < len(GREETING.transcript)
    assert reply_line.text == "Sorry, go ahead."


async def test_audio_still_arriving_from_an_interrupted_response_is_not_played() -> None:
    slow = AudioReply(
        "A long answer about premiums and riders.", audio_ms=2000, chunk_ms=100, chunk_interval_s=0.01
    )
    async with BridgeRig(replies=[slow], playback="manual") as rig:
        call = await rig.place_call()
        await call.twilio.wait_for("media", count=3)
        response_id = call.realtime.active_response_id
        assert response_id is not None

        await call.realtime.speech_started()
        await call.twilio.wait_for("clear")
        forwarded = len(call.twilio.media_received)
        # A delta of the cancelled response that was already on the wire when the caller spoke...
        late = {"type": "response.output_audio.delta", "response_id": response_id, "item_id": "item_late"}
        await call.realtime.send(late | {"output_index": 0, "content_index": 0, "delta": b64(bytes(800))})
        # ...then the next answer; once its audio arrives, the late delta has been dealt with.
        call.realtime.start_response(AudioReply("Yes?", audio_ms=100))
        await call.twilio.wait_for("media", count=forwarded + 1)
        summary = await call.hang_up()

    assert len(call.twilio.media_received) == forwarded + 1
    assert summary.counters.bot_chunks_suppressed >= 1  # the late delta (and any sent with speech_started)


async def test_no_truncate_and_no_clear_when_nothing_is_playing() -> None:
    async with BridgeRig(replies=[GREETING], playback="instant") as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)  # the greeting line is written once Twilio reports it played

        await call.realtime.user_says("Yes, it's fine.")
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    assert call.realtime.events_of("conversation.item.truncate") == []
    assert call.twilio.clears == 0
    assert summary.counters.barge_ins == 0
    assert [line.speaker for line in summary.transcript] == ["bot", "prospect", "bot"]


# ---------------------------------------------------------------------------- tools


async def test_a_function_call_reaches_the_tool_backend_and_its_output_goes_back_before_a_new_response() -> (
    None
):
    tools = ScriptedToolBackend()
    replies = [
        GREETING,
        FunctionCallReply("saveEmail", {"email": "jane.doe@example.com"}),
        AudioReply("Thanks, I've saved jane.doe@example.com."),
    ]
    async with BridgeRig(replies=replies, tools=tools) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)  # the greeting has been heard
        await call.realtime.user_says("Sure, it's jane dot doe at example dot com.")

        await call.realtime.wait_for("response.create", count=2)
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    [invocation] = tools.invocations
    assert invocation.tool == "save_email" and invocation.arguments == {"email": "jane.doe@example.com"}
    assert invocation.call.lead_id == call.call.lead_id  # scoped by the bridge, not by the model
    [output] = function_outputs(call.realtime)
    assert output["ok"] is True and output["saved_email"] == "jane.doe@example.com"
    types = types_of(call.realtime)
    assert types[-2:] == ["conversation.item.create", "response.create"]  # the output, then the next turn
    assert call.realtime.errors_sent == []  # response.create waited for the function-call response to finish
    assert summary.facts.email_saved == "jane.doe@example.com"
    assert summary.call_ended_event().email_permission is True
    assert [record.status for record in summary.tool_calls] == ["ok"]
    assert summary.transcript[-1].text == "Thanks, I've saved jane.doe@example.com."


async def test_a_function_call_seen_only_in_response_done_still_runs_exactly_once() -> None:
    tools = ScriptedToolBackend()
    replies = [
        GREETING,
        FunctionCallReply("markDoNotCall", {}, stream_arguments=False),
        AudioReply("Done. You won't be called again."),
    ]
    async with BridgeRig(replies=replies, tools=tools) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)
        await call.realtime.user_says("Stop calling me.")
        await call.realtime.wait_for("response.create", count=2)
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    assert [invocation.tool for invocation in tools.invocations] == ["mark_do_not_call"]
    assert len(function_outputs(call.realtime)) == 1
    assert summary.outcome is CallOutcome.DO_NOT_CALL


async def test_invalid_tool_arguments_get_an_error_output_and_the_call_goes_on() -> None:
    tools = ScriptedToolBackend()
    replies = [
        GREETING,
        FunctionCallReply("scheduleFollowUp", {"datetime": "next tuesday-ish"}),
        AudioReply("Sorry, which day and time suit you?"),
    ]
    async with BridgeRig(replies=replies, tools=tools) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)  # the greeting has been heard
        await call.realtime.user_says("Call me next Tuesday.")
        await call.realtime.wait_for("response.create", count=2)
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    assert tools.invocations == []
    [output] = function_outputs(call.realtime)
    assert output["error"] == "invalid_arguments" and output["problems"]
    assert summary.transcript[-1].text == "Sorry, which day and time suit you?"
    assert summary.ended_reason is EndReason.TWILIO_STOP
    assert [record.status for record in summary.tool_calls] == ["invalid_arguments"]


async def test_a_failing_tool_becomes_a_spoken_apology_not_a_dead_call() -> None:
    tools = ScriptedToolBackend(failures={"lookup_products": TimeoutError("rag did not answer")})
    replies = [
        GREETING,
        FunctionCallReply(
            "lookupProducts",
            {"needs": {"coverage_type": ["term life"]}},
            said_first=AudioReply("Let me check."),
        ),
        AudioReply("I'm sorry, I can't pull that up right now; a colleague will e-mail you."),
    ]
    async with BridgeRig(replies=replies, tools=tools) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)  # the greeting has been heard
        await call.realtime.user_says("What term life plans do you have?")
        await call.realtime.wait_for("response.create", count=2)
        await transcript_lines(call, 4)
        summary = await call.hang_up()

    [output] = function_outputs(call.realtime)
    assert output["ok"] is False and output["error"] == "temporarily_unavailable"
    assert summary.transcript[-1].text.startswith("I'm sorry")
    assert summary.outcome is CallOutcome.ANSWERED


async def test_end_call_hangs_up_only_after_the_goodbye_has_played() -> None:
    replies = [
        GREETING,
        FunctionCallReply(
            "endCall",
            {"reason": "not_interested"},
            said_first=AudioReply("No problem. Goodbye!", audio_ms=400),
        ),
    ]
    async with BridgeRig(replies=replies, playback="manual") as rig:
        call = await rig.place_call()
        await call.twilio.wait_for("mark", count=10)
        await call.twilio.play(1000)  # greeting heard in full
        await call.realtime.user_says("Not interested, thanks.")
        await call.realtime.response_finished()
        await call.twilio.wait_for("mark", count=14)
        await call.realtime.wait_for(
            "conversation.item.create"
        )  # endCall's output: the bridge has acted on it
        assert not call.bridge.ended  # the goodbye is still queued at Twilio

        await call.twilio.play(400)
        summary = await call.summary()

    assert summary.ended_reason is EndReason.BOT_ENDED
    assert summary.outcome is CallOutcome.NOT_INTERESTED
    assert summary.transcript[-1].text == "No problem. Goodbye!"
    assert len(call.realtime.events_of("response.create")) == 1  # the goodbye was said; no extra turn
    async with asyncio.timeout(5):
        await call.twilio.closed.wait()  # the bridge closed the media socket, so Twilio hangs up


async def test_end_call_without_a_spoken_goodbye_asks_for_one_first() -> None:
    tools = ScriptedToolBackend()
    replies = [
        GREETING,
        FunctionCallReply("markDoNotCall", {}),
        FunctionCallReply("endCall", {"reason": "do_not_call"}),
        AudioReply("Understood, you won't hear from us again. Goodbye."),
    ]
    async with BridgeRig(replies=replies, tools=tools) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)
        await call.realtime.user_says("Please don't call me again.")
        summary = await call.summary()

    assert [i.tool for i in tools.invocations] == ["mark_do_not_call"]
    assert summary.ended_reason is EndReason.BOT_ENDED
    assert summary.outcome is CallOutcome.DO_NOT_CALL
    assert summary.transcript[-1].text == "Understood, you won't hear from us again. Goodbye."
    assert len(call.realtime.events_of("response.create")) == 3  # greeting, after markDoNotCall, goodbye


# ---------------------------------------------------------------------------- recovery


async def test_a_dropped_realtime_socket_is_replaced_and_reseeded_while_the_caller_stays_on() -> None:
    replies = [GREETING, AudioReply("Great. Who would the cover protect?")]
    async with BridgeRig(replies=replies) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)
        await call.realtime.user_says("I'm looking for life cover.")
        await transcript_lines(call, 3)

        await call.realtime.drop()
        during_outage = await call.twilio.stream([mulaw_frame(tag) for tag in range(100, 110)], paced=False)
        replacement = await rig.realtime_server.session(1)
        after = await call.twilio.stream([mulaw_frame(tag) for tag in range(200, 205)], paced=False)
        await replacement.wait_for("input_audio_buffer.append", count=15)
        assert not call.twilio.closed.is_set() and not call.bridge.ended  # the caller never noticed
        summary = await call.hang_up()

    assert replacement.events_of("session.update")
    seeded = [e["item"] for e in replacement.events_of("conversation.item.create")]
    assert [(i["role"], i["content"][0]["text"]) for i in seeded] == [
        ("assistant", GREETING.transcript),
        ("user", "I'm looking for life cover."),
        ("assistant", "Great. Who would the cover protect?"),
    ]
    types = types_of(replacement)
    assert types.index("conversation.item.create") < types.index("input_audio_buffer.append")
    assert replacement.appended_audio == during_outage + after  # nothing the caller said was lost
    assert replacement.events_of("response.create") == []  # nobody was mid-answer: wait for the caller
    assert summary.counters.realtime_reconnects == 1
    assert summary.ended_reason is EndReason.TWILIO_STOP


async def test_an_answer_cut_off_by_a_drop_is_asked_for_again_on_the_new_session() -> None:
    slow = AudioReply("Here are the details of the plan.", audio_ms=3000, chunk_ms=100, chunk_interval_s=0.01)
    async with BridgeRig(
        replies=[slow, AudioReply("Here are the details of the plan.")], playback="manual"
    ) as rig:
        call = await rig.place_call()
        await call.twilio.wait_for("media", count=3)

        await call.realtime.drop()
        replacement = await rig.realtime_server.session(1)
        clear = await call.twilio.wait_for("clear")  # the stale half answer is cut before the new one
        before_clear = call.twilio.received[: call.twilio.received.index(clear)]
        stale_chunks = sum(1 for message in before_clear if message["event"] == "media")
        await replacement.wait_for("response.create")
        await call.twilio.wait_for("media", count=stale_chunks + 4)  # the new answer: 400 ms
        await call.twilio.play(10_000)
        await transcript_lines(call, 1)
        summary = await call.hang_up()

    assert summary.counters.realtime_reconnects == 1
    assert summary.transcript[-1].text == "Here are the details of the plan."


async def test_an_expired_session_is_replaced_the_same_way() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        call = await rig.place_call()
        await call.realtime.response_finished()
        await call.realtime.expire()
        replacement = await rig.realtime_server.session(1)
        await replacement.wait_for("conversation.item.create")
        summary = await call.hang_up()

    assert summary.counters.realtime_reconnects == 1
    assert [e["item"]["role"] for e in replacement.events_of("conversation.item.create")] == ["assistant"]


async def test_when_no_realtime_session_can_be_had_the_call_ends_as_failed() -> None:
    async with BridgeRig(
        settings=BridgeSettings(realtime_open_attempts=2, realtime_retry_backoff_s=0.01)
    ) as rig:
        rig.realtime_server.refuse_connections = True
        bridge, _ = rig.new_bridge()
        with pytest.raises(RealtimeUnavailable):
            await bridge.prewarm()
        assert not bridge.ended  # a failed pre-warm is retried when the call connects

        twilio, summary_future = await rig.connect_twilio(bridge)
        summary = await asyncio.wait_for(summary_future, 5)
        async with asyncio.timeout(5):
            await twilio.closed.wait()

    assert rig.realtime_server.rejected_handshakes == 4
    assert summary.ended_reason is EndReason.REALTIME_UNAVAILABLE
    assert summary.outcome is CallOutcome.FAILED  # so the scheduler retries


async def test_caller_audio_waits_for_a_session_and_only_the_newest_is_kept_past_the_limit() -> None:
    settings = BridgeSettings(
        held_caller_audio_ms=100, realtime_open_attempts=100, realtime_retry_backoff_s=0.02
    )
    async with BridgeRig(settings=settings) as rig:
        rig.realtime_server.refuse_connections = True
        bridge, journal = rig.new_bridge()
        twilio, summary_future = await rig.connect_twilio(bridge)
        sent = await twilio.stream([mulaw_frame(tag) for tag in range(12)], paced=False)
        await twilio.send_dtmf("1")  # logged once the bridge has read every frame before it
        await eventually(lambda: "dtmf" in journal.event_types())

        rig.realtime_server.refuse_connections = False
        session = await rig.realtime_server.session(0)
        await session.wait_for("input_audio_buffer.append", count=5)
        await twilio.stop()
        summary = await asyncio.wait_for(summary_future, 5)

    assert session.appended_audio == sent[-5:]  # 100 ms held: the five newest frames
    assert summary.counters.caller_frames_dropped == 7


async def test_a_failing_journal_costs_the_log_not_the_call() -> None:
    class BrokenJournal:
        async def record_transcript_line(self, call: CallContext, line: TranscriptLine) -> None:
            raise ConnectionError("database is down")

        async def record_event(self, call: CallContext, entry: EventLogEntry) -> None:
            raise ConnectionError("database is down")

    async with BridgeRig(replies=[GREETING]) as rig:
        assert rig.connector is not None
        bridge = CallBridge(
            CallContext(call_id=uuid4(), lead_id=uuid4()), rig.connector, rig.tools, BrokenJournal()
        )
        await bridge.prewarm()
        twilio, summary_future = await rig.connect_twilio(bridge)
        await twilio.wait_for("mark", count=10)
        await eventually(lambda: len(twilio.marks_echoed) == 10)
        await twilio.stop()
        summary = await asyncio.wait_for(summary_future, 5)

    assert summary.ended_reason is EndReason.TWILIO_STOP
    assert [line.text for line in summary.transcript] == [GREETING.transcript]


# ---------------------------------------------------------------------------- teardown, usage, log


async def test_twilio_stop_closes_both_sides_and_returns_the_summary() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        call = await rig.place_call()
        await call.twilio.wait_for("media")
        summary = await call.hang_up()

        async with asyncio.timeout(5):
            await call.realtime.closed.wait()
    assert summary.ended_reason is EndReason.TWILIO_STOP
    assert summary.twilio_call_sid == call.twilio.call_sid
    assert summary.duration_seconds > 0
    assert call.bridge.ended


async def test_a_vanished_twilio_socket_and_a_hangup_request_also_release_everything() -> None:
    async with BridgeRig(replies=[GREETING]) as rig:
        dropped = await rig.place_call()
        await dropped.twilio.close()  # no `stop`: the socket just goes away
        dropped_summary = await dropped.summary()

        stopped = await rig.place_call()
        stopped.bridge.request_hangup()
        stopped_summary = await stopped.summary()
        async with asyncio.timeout(5):
            await stopped.twilio.closed.wait()
            await dropped.realtime.closed.wait()
            await stopped.realtime.closed.wait()

    assert dropped_summary.ended_reason is EndReason.TWILIO_DISCONNECTED
    assert stopped_summary.ended_reason is EndReason.HANGUP_REQUESTED


async def test_usage_is_summed_over_the_call_and_priced() -> None:
    def usage(audio_out: int) -> dict[str, Any]:
        return {
            "input_tokens": 100,
            "output_tokens": audio_out,
            "input_token_details": {"text_tokens": 100, "audio_tokens": 0},
            "output_token_details": {"text_tokens": 0, "audio_tokens": audio_out},
        }

    prices = TokenPrices(
        text_input=4,
        cached_text_input=0.4,
        audio_input=32,
        cached_audio_input=0.4,
        text_output=16,
        audio_output=64,
    )
    replies = [AudioReply("Hello.", usage=usage(50)), AudioReply("Sure.", usage=usage(30))]
    async with BridgeRig(replies=replies, settings=BridgeSettings(prices=prices)) as rig:
        call = await rig.place_call()
        await transcript_lines(call, 1)  # the greeting has been heard
        await call.realtime.user_says("Hi.")
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    assert (summary.usage.responses, summary.usage.input_tokens, summary.usage.output_audio_tokens) == (
        2,
        200,
        80,
    )
    assert summary.usage.transcription_input_tokens == 12
    assert summary.estimated_cost_usd == pytest.approx((200 * 4 + 80 * 64) / 1_000_000)


async def test_the_event_log_has_protocol_events_but_no_audio_or_contact_details() -> None:
    replies = [
        GREETING,
        FunctionCallReply("saveEmail", {"email": "jane.doe@example.com"}),
        AudioReply("Saved."),
    ]
    async with BridgeRig(replies=replies) as rig:
        call = await rig.place_call()
        await call.twilio.stream([mulaw_frame() for _ in range(5)], paced=False)
        await transcript_lines(call, 1)
        await call.realtime.user_says("jane.doe@example.com")
        await call.realtime.wait_for("response.create", count=2)
        await transcript_lines(call, 3)
        summary = await call.hang_up()

    logged = json.dumps([entry.model_dump(mode="json") for entry in call.journal.events])
    types = call.journal.event_types()
    for expected in (
        "start",
        "session.updated",
        "response.create",
        "response.done",
        "tool.result",
        "stop",
        "call.ended",
    ):
        assert expected in types
    assert "jane.doe@example.com" not in logged and "[email]" in logged
    silence = b64(mulaw_frame())[:16]  # every audio payload in this call is mu-law silence
    assert silence not in logged and '"payload"' not in logged and '"delta"' not in logged
    assert summary.event_counts["twilio.in.media"] == 5
    assert [line.text for line in call.journal.lines] == [line.text for line in summary.transcript]
