"""Settling an unsure timezone on the call: the question (asked once, the way people name zones), reading
the answer, the `confirmTimezone` tool, and `lead.timezone_confirmed` from the offline policy, the text
model and a Realtime phone call."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from parley_contracts import LeadSnapshot, LeadTimezoneConfirmed
from servicekit.bus import wait_for
from servicekit.testing.openai_fake_chat import FakeOpenAIChat, FakeReply
from voice_bridge.domain.call import CallContext
from voice_bridge.domain.dialogue import DialoguePolicy, Stage, perform_turn
from voice_bridge.domain.persona import DEFAULT_PERSONA
from voice_bridge.domain.prompt import build_instructions
from voice_bridge.domain.timezone_question import TimezoneQuestion
from voice_bridge.domain.tools import ToolRunner
from voice_bridge.domain.utterance import normalize
from voice_bridge.testing import AudioReply, FunctionCallReply, ScriptedToolBackend

from .conftest import VoiceApp, lead_snapshot
from .test_voice_bridge_service import fake_rag, say, start
from .test_voice_chat_bot import chat, keyed_app  # noqa: F401 (the text model's fixtures)
from .test_voice_phone_calls import PhoneRig, phone  # noqa: F401 (the phone-line fixture)

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
QUESTION = "Just so we call you at a good time"
# The default persona's questions answered, products presented, the e-mail declined: the wrap-up.
TO_THE_WRAP_UP = [
    "Yes, sure",
    "Life insurance I think",
    "My wife and two kids",
    "I'm forty two",
    "Maybe 50 dollars a month",
    "Yes, that's fine",
    "No, I'm pretty healthy",
    "Nothing through work",
    "Protecting my family if something happens to me",
    "Fairly soon",
    "No thanks",
]


# An Idaho number: Mountain or Pacific time; the zone shown until it is settled is Los Angeles.
MOUNTAIN_OR_PACIFIC: dict[str, Any] = {
    "phone": "+12085550123",
    "timezone": "America/Los_Angeles",
    "timezone_candidates": ["America/Denver", "America/Los_Angeles"],
    "timezone_source": "from_phone",
    "country": "US",
}


def _mountain_or_pacific() -> LeadSnapshot:
    return lead_snapshot(**MOUNTAIN_OR_PACIFIC)


# -- the question and its answers -----------------------------------------------------------------


def test_zones_are_named_the_way_people_say_them() -> None:
    us = TimezoneQuestion.for_lead(_mountain_or_pacific())
    assert us is not None and us.question() == f"{QUESTION}, are you on Pacific time?"
    assert us.spoken("America/Denver") == "Mountain time"
    # Two candidates on Mountain time: the name would not tell them apart, the city does.
    arizona = TimezoneQuestion(("America/Denver", "America/Phoenix"), "US", "America/Denver")
    assert arizona.spoken("America/Phoenix") == "Phoenix time"
    australia = TimezoneQuestion(("Australia/Perth", "Australia/Sydney"), "AU", "Australia/Perth")
    assert australia.question() == f"{QUESTION}, are you on Perth time?"
    unknown = TimezoneQuestion.for_lead(
        lead_snapshot(timezone="UTC", timezone_source="unknown", country="US")
    )
    assert unknown is not None and unknown.question() == f"{QUESTION}, which city are you in?"


@pytest.mark.parametrize(
    ("lead", "asked"),
    [
        (lead_snapshot(timezone="America/Chicago", timezone_source="from_phone"), False),
        (lead_snapshot(timezone_candidates=["America/Chicago"], timezone_source="from_location"), False),
        (lead_snapshot(timezone="America/Chicago", timezone_source="confirmed_on_call"), False),
        (lead_snapshot(timezone="America/New_York"), False),  # a lead from before sources were recorded
        (_mountain_or_pacific(), True),
        (lead_snapshot(timezone="America/New_York", timezone_source="fallback"), True),
        (lead_snapshot(timezone="UTC", timezone_source="unknown"), True),
    ],
    ids=["phone", "location", "confirmed", "legacy", "two-candidates", "fallback", "unknown"],
)
def test_only_an_unsure_timezone_is_asked_about(lead: LeadSnapshot, asked: bool) -> None:
    assert (TimezoneQuestion.for_lead(lead) is not None) is asked


@pytest.mark.parametrize(
    ("answer", "zone"),
    [
        ("No, I'm in Denver", "America/Denver"),
        ("Mountain time", "America/Denver"),
        ("pacific", "America/Los_Angeles"),
        ("We live near Boise", "America/Boise"),  # not a candidate, but on a candidate's clock
        ("Denver, Colorado", "America/Denver"),
        ("Central", None),  # not a zone the number rings in
        ("I'm in Phoenix", None),  # Arizona keeps neither candidate's clock
        ("Yes, I'm in LA", None),  # two letters name no place: the "yes" decides
        ("no", None),
        ("why do you ask", None),
    ],
)
def test_answers_are_read_against_the_leads_candidates(answer: str, zone: str | None) -> None:
    question = TimezoneQuestion.for_lead(_mountain_or_pacific())
    assert question is not None and question.settle(normalize(answer)) == zone


def test_without_candidates_any_named_place_settles_it() -> None:
    question = TimezoneQuestion((), "US", None)
    assert question.settle(normalize("I'm in Chicago")) == "America/Chicago"
    assert question.settle(normalize("Eastern")) == "America/New_York"
    assert question.settle(normalize("not sure")) is None
    abroad = TimezoneQuestion(("Australia/Perth", "Australia/Sydney"), "AU", "Australia/Sydney")
    assert abroad.settle(normalize("no, I'm in Perth")) == "Australia/Perth"
    assert abroad.settle(normalize("Melbourne")) == "Australia/Melbourne"  # Sydney's clock, its own name


# -- the offline policy ----------------------------------------------------------------------------


class _Call:
    def __init__(self, lead: LeadSnapshot) -> None:
        self.backend = ScriptedToolBackend()
        self.policy = DialoguePolicy(lead, clock=lambda: NOW)
        context = CallContext(call_id=uuid.uuid4(), lead_id=lead.id, lead_timezone=lead.timezone)
        self.runner = ToolRunner(self.backend, context, timeout_s=2, clock=lambda: NOW)
        self.lines = [self.policy.opening().text]

    async def say(self, *texts: str) -> str:
        for text in texts:
            performed = await perform_turn(self.policy.reply(text), self.policy, self.runner)
            self.lines.append(performed.text)
        return self.lines[-1]

    def asked(self) -> int:
        return sum(QUESTION in line for line in self.lines)

    def confirmed(self) -> list[dict[str, Any]]:
        return [i.arguments for i in self.backend.invocations if i.tool == "confirm_timezone"]


async def test_the_policy_asks_before_the_wrap_up_and_confirms_the_place_named() -> None:
    call = _Call(_mountain_or_pacific())
    await call.say(*TO_THE_WRAP_UP[:-1])
    assert call.asked() == 0  # not during the needs conversation

    question = await call.say("No thanks")
    assert question.endswith(f"{QUESTION}, are you on Pacific time?")
    noted = await call.say("No, I'm in Denver")

    assert noted == "Thank you, I've noted Mountain time. Is there anything else I can help you with today?"
    assert call.confirmed() == [{"timezone": "America/Denver", "said": "No, I'm in Denver"}]
    assert "Goodbye" in await call.say("No, that's all")
    assert call.asked() == 1


async def test_a_no_gets_one_question_for_the_city_then_the_call_moves_on() -> None:
    call = _Call(_mountain_or_pacific())
    await call.say(*TO_THE_WRAP_UP)
    assert await call.say("No") == "No problem. Which city are you in?"
    assert (
        await call.say("Somewhere nice")
        == "No problem at all. Is there anything else I can help you with today?"
    )
    assert call.policy.stage is Stage.WRAP_UP and call.confirmed() == []
    assert call.asked() == 1


async def test_yes_confirms_the_zone_asked_about() -> None:
    call = _Call(lead_snapshot(timezone="America/New_York", timezone_source="fallback", country="US"))
    await call.say(*TO_THE_WRAP_UP)
    assert call.lines[-1].endswith("are you on Eastern time?")
    await call.say("Yes, that's right")
    assert call.confirmed() == [{"timezone": "America/New_York", "said": "Yes, that's right"}]


async def test_a_lead_with_one_zone_is_never_asked() -> None:
    call = _Call(lead_snapshot(timezone="America/Chicago", timezone_source="from_phone", country="US"))
    wrap_up = await call.say(*TO_THE_WRAP_UP)
    assert wrap_up.endswith("Is there anything else I can help you with today?")
    await call.say("No, that's all")
    assert call.asked() == 0 and call.confirmed() == [] and call.policy.ended


# -- the text model's and the Realtime model's prompt and tool -------------------------------------


def test_the_prompt_carries_the_rule_and_the_candidates_only_when_unsure() -> None:
    unsure = build_instructions(DEFAULT_PERSONA, _mountain_or_pacific(), now=NOW)
    assert "We are not sure which timezone the caller is in" in unsure
    assert f'"{QUESTION}, are you on Pacific time?"' in unsure and "confirmTimezone" in unsure
    data = json.loads(unsure.split("<lead_data>\n")[-1].split("\n</lead_data>")[0])
    assert data["timezone_candidates"] == [
        {"timezone": "America/Denver", "spoken": "Mountain time"},
        {"timezone": "America/Los_Angeles", "spoken": "Pacific time"},
    ]
    sure = build_instructions(DEFAULT_PERSONA, lead_snapshot(timezone_source="from_phone"), now=NOW)
    assert "not sure which timezone" not in sure and "timezone_candidates" not in sure


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("America/Denver", "America/Denver"),
        ("US/Mountain", "America/Denver"),
        ("Asia/Calcutta", "Asia/Kolkata"),
    ],
)
async def test_confirm_timezone_records_the_zones_current_name(given: str, recorded: str) -> None:
    backend = ScriptedToolBackend()
    runner = ToolRunner(backend, CallContext(call_id=uuid.uuid4(), lead_id=uuid.uuid4()), timeout_s=1)

    result = await runner.run("confirmTimezone", json.dumps({"timezone": given, "said": "Denver"}))

    assert result.status == "ok" and json.loads(result.output)["confirmed_timezone"] == recorded
    assert [i.arguments for i in backend.invocations] == [{"timezone": recorded, "said": "Denver"}]


@pytest.mark.parametrize("given", ["Mountain Time", "America/Nowhere", ""])
async def test_confirm_timezone_refuses_what_is_not_a_zone(given: str) -> None:
    backend = ScriptedToolBackend()
    runner = ToolRunner(backend, CallContext(call_id=uuid.uuid4(), lead_id=uuid.uuid4()), timeout_s=1)

    result = await runner.run("confirmTimezone", json.dumps({"timezone": given}))

    assert result.status == "invalid_arguments" and backend.invocations == []
    assert "not an IANA timezone name" in json.loads(result.output)["problems"][0]


# -- through the service ---------------------------------------------------------------------------


@pytest.mark.integration
async def test_an_offline_rehearsal_settles_the_timezone_once(voice_app: VoiceApp) -> None:
    app = voice_app
    await fake_rag(app)
    lead = await app.create_lead(**MOUNTAIN_OR_PACIFIC)
    sure = await app.create_lead(timezone="America/Chicago", timezone_source="from_phone", country="US")

    session_id = (await start(app, lead.id, app.agent))["session"]["id"]
    replies = [(await say(app, session_id, text, app.agent))["reply"] for text in TO_THE_WRAP_UP]
    replies.append((await say(app, session_id, "no, I'm in Denver", app.agent))["reply"])
    replies.append((await say(app, session_id, "No, that's all", app.agent))["reply"])

    assert sum(QUESTION in reply for reply in replies) == 1
    [confirmed] = await app.events(LeadTimezoneConfirmed)
    assert (confirmed.lead_id, confirmed.timezone) == (lead.id, "America/Denver")
    assert confirmed.call_id == uuid.UUID(session_id) and confirmed.said == "no, I'm in Denver"

    other = (await start(app, sure.id, app.agent))["session"]["id"]
    replies = [(await say(app, other, text, app.agent))["reply"] for text in TO_THE_WRAP_UP]
    assert not any(QUESTION in reply for reply in replies)
    assert len(await app.events(LeadTimezoneConfirmed)) == 1


@pytest.mark.integration
async def test_the_text_model_gets_an_error_for_a_bad_zone_and_confirms_a_candidate(
    keyed_app: VoiceApp,  # noqa: F811
    chat: FakeOpenAIChat,  # noqa: F811
) -> None:
    app = keyed_app
    lead = await app.create_lead(**MOUNTAIN_OR_PACIFIC)
    session_id = (await start(app, lead.id, app.agent))["session"]["id"]

    chat.enqueue(
        FakeReply.tool_call("confirmTimezone", {"timezone": "Mountain Time", "said": "Mountain time"}),
        FakeReply.tool_call("confirmTimezone", {"timezone": "America/Denver", "said": "Mountain time"}),
        FakeReply.text("Thanks, Mountain time it is. Anything else I can help with?"),
    )
    turn = await say(app, session_id, "Mountain time", app.agent)

    assert turn["reply"] == "Thanks, Mountain time it is. Anything else I can help with?"
    system = chat.requests[0].message_text("system")
    assert "We are not sure which timezone" in system and '"America/Denver"' in system
    rejected, accepted = (
        json.loads(m["content"]) for m in chat.requests[-1].messages if m.get("role") == "tool"
    )
    assert rejected["error"] == "invalid_arguments" and "not an IANA timezone" in rejected["problems"][0]
    assert accepted == {"ok": True, "confirmed_timezone": "America/Denver"}
    [confirmed] = await app.events(LeadTimezoneConfirmed)  # one event: the bad zone emitted nothing
    assert (confirmed.lead_id, confirmed.timezone, confirmed.said) == (
        lead.id,
        "America/Denver",
        "Mountain time",
    )


@pytest.mark.integration
async def test_a_phone_call_settles_the_timezone_through_realtime(phone: PhoneRig) -> None:  # noqa: F811
    lead = await phone.app.create_lead(**MOUNTAIN_OR_PACIFIC)
    phone.realtime.replies.extend(
        [
            FunctionCallReply("confirmTimezone", {"timezone": "America/Denver", "said": "I'm in Denver"}),
            AudioReply("Thanks, I've noted Mountain time."),
        ]
    )
    session, call = await phone.dial(lead.id)
    media = await phone.answer(call)
    await media.wait_for("media")
    realtime = await phone.realtime.session(0)
    update = next(e for e in realtime.received if e.get("type") == "session.update")
    assert "We are not sure which timezone" in update["session"]["instructions"]
    assert "confirmTimezone" in {tool["name"] for tool in update["session"]["tools"]}
    await realtime.response_finished()  # the greeting
    await realtime.user_says("I'm in Denver")

    async def confirmed() -> bool:
        return any(e.lead_id == lead.id for e in await phone.app.events(LeadTimezoneConfirmed))

    assert await wait_for(confirmed, timeout=10)
    [event] = await phone.app.events(LeadTimezoneConfirmed)
    assert event.timezone == "America/Denver" and event.call_id == uuid.UUID(session["id"])
    await media.stop()
    await phone.ended(session["id"])
