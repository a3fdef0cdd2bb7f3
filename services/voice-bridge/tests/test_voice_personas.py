"""Admin-configurable personas through the running service (real NATS and database): the
`/api/voice/personas` API with its roles, validation and audit trail, the default persona and a persona
chosen per session, and calls (simulated and phone) that speak as the persona they started with."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from parley_contracts import AuditRecorded
from servicekit.app import create_app
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from voice_bridge.main import definition

from .conftest import VoiceApp, VoiceSettingsFactory
from .test_voice_phone_calls import PhoneRig, phone  # noqa: F401 (the phone-line fixture)

pytestmark = pytest.mark.integration

PERSONAS = "/api/voice/personas"

SAM: dict[str, Any] = {
    "name": "Sam",
    "company": "Acme Cover",
    "greeting": "Hello {first_name}! {agent_name} here, from {company}.",
    "tone": "cheerful and brief",
    "voice": "cedar",
    "language": "en-GB",
    "questions": [
        {"topic": "coverage", "text": "Which kind of cover brings you to us today?"},
        {"topic": "goals", "text": "What would you most like this cover to do for you?"},
        {"topic": "urgency", "text": "How soon would you like to be covered?"},
    ],
}


async def create_persona(app: VoiceApp, name: str, persona: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await app.client.post(
        PERSONAS, json={"name": name, "persona": persona or SAM}, headers=app.admin
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_default(app: VoiceApp, persona_id: str) -> dict[str, Any]:
    response = await app.client.post(f"{PERSONAS}/{persona_id}/default", headers=app.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def start(app: VoiceApp, lead_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    response = await app.client.post(
        "/api/voice/sessions", json={"lead_id": str(lead_id), "mode": "simulated", **extra}, headers=app.agent
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def say(app: VoiceApp, session_id: str, text: str) -> str:
    response = await app.client.post(
        f"/api/voice/sessions/{session_id}/messages", json={"text": text}, headers=app.agent
    )
    assert response.status_code == 200, response.text
    reply: str = response.json()["reply"]
    return reply


async def test_the_default_persona_greets_and_asks_its_own_questions_in_order(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    # Before any admin choice, the built-in persona is the default.
    built_in = (await app.client.get(f"{PERSONAS}/default", headers=app.agent)).json()
    assert built_in["built_in"] and built_in["id"] is None and built_in["persona"]["name"] == "Maya"
    assert "this is Maya" in (await start(app, lead.id))["reply"]

    created = await create_persona(app, "Acme: Sam")
    assert created["name"] == "Acme: Sam" and not created["is_default"]
    assert created["persona"]["greeting"] == SAM["greeting"] and created["updated_by"] is not None
    chosen = await make_default(app, created["id"])
    assert chosen["is_default"]
    current = (await app.client.get(f"{PERSONAS}/default", headers=app.agent)).json()
    assert current["id"] == created["id"] and not current["built_in"]

    started = await start(app, lead.id)
    assert started["reply"].startswith("Hello John! Sam here, from Acme Cover.")
    assert started["session"]["persona_id"] == created["id"]  # the transcript is attributable
    session_id = started["session"]["id"]
    asked = [await say(app, session_id, text) for text in ("Yes, sure", "Life insurance", "My family")]
    for reply, question in zip(asked, SAM["questions"], strict=True):
        assert reply.endswith(question["text"]), reply
    stored = (await app.client.get(f"/api/voice/sessions/{session_id}", headers=app.agent)).json()
    assert stored["persona_id"] == created["id"]

    audit = [e for e in await app.events(AuditRecorded) if e.entity == "persona"]
    assert [(e.action, e.entity_id) for e in audit] == [
        ("persona.created", created["id"]),
        ("persona.default_set", created["id"]),
    ]
    assert audit[0].service == "voice-bridge" and audit[0].actor_role == "ADMIN"
    assert audit[0].after is not None and audit[0].after["persona"]["voice"] == "cedar"
    assert audit[1].before == {"default_persona_id": None}


async def test_agents_read_personas_but_only_admins_change_them(voice_app: VoiceApp) -> None:
    app = voice_app
    created = await create_persona(app, "Sam")
    listed = await app.client.get(PERSONAS, headers=app.agent)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["id"] == created["id"]
    assert (await app.client.get(f"{PERSONAS}/{created['id']}", headers=app.agent)).status_code == 200

    body = {"name": "Agent's own", "persona": SAM}
    refused = [
        await app.client.post(PERSONAS, json=body, headers=app.agent),
        await app.client.put(f"{PERSONAS}/{created['id']}", json=body, headers=app.agent),
        await app.client.delete(f"{PERSONAS}/{created['id']}", headers=app.agent),
        await app.client.post(f"{PERSONAS}/{created['id']}/default", headers=app.agent),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert refused[0].headers["content-type"].startswith("application/problem+json")
    assert (await app.client.get(PERSONAS)).status_code == 401
    assert (await app.client.get(PERSONAS, headers=app.agent)).json()["total"] == 1


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"greeting": "Hi {first_name.__class__}, it's {agent_name}"}, ["body", "persona", "greeting"]),
        ({"greeting": "Hi {lead_email}!"}, ["body", "persona", "greeting"]),
        ({"voice": "robot"}, ["body", "persona", "voice"]),
        ({"language": "english"}, ["body", "persona", "language"]),
        ({"greting": "typo"}, ["body", "persona", "greting"]),
        (
            {
                "questions": [
                    {"topic": "coverage", "text": "Which cover?"},
                    {"topic": "coverage", "text": "Again?"},
                ]
            },
            ["body", "persona", "questions"],
        ),
        ({"questions": [{"topic": "age", "text": "How old are you?"}]}, ["body", "persona", "questions"]),
        (
            {"questions": [{"topic": "hobbies", "text": "Any hobbies?"}]},
            ["body", "persona", "questions", "0", "topic"],
        ),
    ],
)
async def test_invalid_personas_are_422_with_the_field(
    voice_app: VoiceApp, change: dict[str, Any], loc: list[str]
) -> None:
    app = voice_app
    response = await app.client.post(
        PERSONAS, json={"name": "Broken", "persona": {**SAM, **change}}, headers=app.admin
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert loc in [error["loc"] for error in response.json()["errors"]], response.json()
    assert (await app.client.get(PERSONAS, headers=app.admin)).json()["total"] == 0


async def test_names_are_unique_and_updates_apply_to_the_next_call(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    sam = await create_persona(app, "Sam")
    other = await create_persona(app, "Other")
    duplicate = await app.client.post(PERSONAS, json={"name": "  sam ", "persona": SAM}, headers=app.admin)
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "name"
    renamed = await app.client.put(
        f"{PERSONAS}/{other['id']}", json={"name": "SAM", "persona": SAM}, headers=app.admin
    )
    assert renamed.status_code == 409

    during = await start(app, lead.id, persona_id=sam["id"])
    updated = await app.client.put(
        f"{PERSONAS}/{sam['id']}",
        json={
            "name": "Sam (new)",
            "persona": {**SAM, "greeting": "Good day {first_name}, {agent_name} speaking."},
        },
        headers=app.admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Sam (new)"
    assert datetime.fromisoformat(updated.json()["updated_at"]) >= datetime.fromisoformat(sam["updated_at"])
    # The call under way keeps the persona it started with; the next one speaks the new greeting.
    assert (await say(app, during["session"]["id"], "Yes, sure")).endswith(SAM["questions"][0]["text"])
    assert (await start(app, lead.id, persona_id=sam["id"]))["reply"].startswith(
        "Good day John, Sam speaking."
    )
    missing = await app.client.put(
        f"{PERSONAS}/{uuid.uuid4()}", json={"name": "X", "persona": SAM}, headers=app.admin
    )
    assert missing.status_code == 404

    [change] = [e for e in await app.events(AuditRecorded) if e.action == "persona.updated"]
    assert change.before is not None and set(change.before) == {"name", "persona"}
    assert change.after is not None and change.after["name"] == "Sam (new)"


async def test_the_default_persona_cannot_be_deleted(voice_app: VoiceApp) -> None:
    app = voice_app
    first = await create_persona(app, "First")
    second = await create_persona(app, "Second")
    await make_default(app, first["id"])

    refused = await app.client.delete(f"{PERSONAS}/{first['id']}", headers=app.admin)
    assert refused.status_code == 409 and refused.json()["code"] == "persona_is_default"
    assert "default" in refused.json()["detail"]

    # Another default first, then the old one can go; exactly one default at every step.
    await make_default(app, second["id"])
    listed = (await app.client.get(PERSONAS, headers=app.agent)).json()["items"]
    assert [(p["id"], p["is_default"]) for p in listed] == [(second["id"], True), (first["id"], False)]
    deleted = await app.client.delete(f"{PERSONAS}/{first['id']}", headers=app.admin)
    assert deleted.status_code == 204
    assert (await app.client.get(f"{PERSONAS}/{first['id']}", headers=app.agent)).status_code == 404
    assert (await app.client.delete(f"{PERSONAS}/{first['id']}", headers=app.admin)).status_code == 404

    actions = [e.action for e in await app.events(AuditRecorded) if e.entity == "persona"]
    assert actions == [
        "persona.created",
        "persona.created",
        "persona.default_set",
        "persona.default_set",
        "persona.deleted",
    ]


async def test_a_session_can_name_its_persona_and_an_unknown_one_is_refused(voice_app: VoiceApp) -> None:
    app = voice_app
    lead = await app.create_lead()
    default = await create_persona(
        app, "Default Dana", {**SAM, "name": "Dana", "greeting": "Hi {first_name}, Dana here."}
    )
    await make_default(app, default["id"])
    sam = await create_persona(app, "Sam")

    explicit = await start(app, lead.id, persona_id=sam["id"])
    assert explicit["reply"].startswith("Hello John! Sam here, from Acme Cover.")
    assert explicit["session"]["persona_id"] == sam["id"]
    implicit = await start(app, lead.id)
    assert implicit["reply"].startswith("Hi John, Dana here.")
    assert implicit["session"]["persona_id"] == default["id"]

    unknown = uuid.uuid4()
    for mode in ("simulated", "phone"):
        refused = await app.client.post(
            "/api/voice/sessions",
            json={"lead_id": str(lead.id), "mode": mode, "persona_id": str(unknown)},
            headers=app.agent,
        )
        if mode == "phone":  # no phone line on this deployment: that is said first
            assert refused.status_code == 503
            continue
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert str(unknown) in problem["detail"]
        assert problem["errors"] == [
            {"loc": ["body", "persona_id"], "msg": "unknown persona", "type": "not_found"}
        ]
    sessions = (await app.client.get("/api/voice/sessions", headers=app.agent)).json()
    assert sessions["total"] == 2  # the refused call left no session behind


async def test_a_phone_call_speaks_as_its_persona(phone: PhoneRig) -> None:  # noqa: F811
    app = phone.app
    lead = await app.create_lead()
    sam = await create_persona(app, "Sam")
    response = await app.client.post(
        "/api/voice/sessions",
        json={"lead_id": str(lead.id), "mode": "phone", "persona_id": sam["id"]},
        headers=app.agent,
    )
    assert response.status_code == 201, response.text
    session = response.json()["session"]
    assert session["persona_id"] == sam["id"]
    [call] = [
        c for c in phone.twilio.calls.values() if c.status_callback and session["id"] in c.status_callback
    ]

    realtime = await phone.realtime.session(0)
    await realtime.wait_for("session.update")
    update = next(e for e in realtime.received if e.get("type") == "session.update")["session"]
    assert update["audio"]["output"]["voice"] == "cedar"
    assert update["audio"]["input"]["transcription"]["language"] == "en"
    instructions = update["instructions"]
    assert (
        "You are Sam" in instructions
        and "Acme Cover" in instructions
        and "cheerful and brief" in instructions
    )
    assert "Hello John! Sam here, from Acme Cover." in instructions
    positions = [instructions.index(q["text"]) for q in SAM["questions"]]
    assert positions == sorted(positions)  # the persona's questions, in its order
    assert "Maya" not in instructions

    # The voicemail is left by the same persona (the call keeps the persona it started with).
    media = await phone.answer(call)
    await media.wait_for("media")
    assert (await phone.twilio.send_amd(call.sid, "machine_end_beep")).response_status == 204
    [voicemail] = phone.twilio.calls[call.sid].twiml_updates
    assert "this is Sam from Acme Cover" in voicemail and 'language="en-GB"' in voicemail
    await media.stop()
    await phone.twilio.send_status(call.sid, "completed")
    await phone.ended(session["id"])


async def test_personas_on_mariadb(
    make_mysql_database: Any, voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair
) -> None:
    """The migration and the default switch on the MySQL/MariaDB profile."""
    settings = await voice_settings(database_url=await make_mysql_database("voice"))
    app = create_app(definition, settings)
    async with running(app) as client:
        voice = VoiceApp(client, app.state.runtime, jwt_keys)
        lead = await voice.create_lead()
        first = await create_persona(voice, "Ünïcödé Sam")
        second = await create_persona(
            voice, "Dana", {**SAM, "name": "Dana", "greeting": "Hi {first_name}, Dana here."}
        )
        assert (
            await client.post(PERSONAS, json={"name": "ünïcödé sam", "persona": SAM}, headers=voice.admin)
        ).status_code == 409
        await make_default(voice, first["id"])
        await make_default(voice, second["id"])
        listed = (await client.get(PERSONAS, headers=voice.agent)).json()["items"]
        assert [(p["name"], p["is_default"]) for p in listed] == [("Dana", True), ("Ünïcödé Sam", False)]
        started = await start(voice, lead.id)
        assert started["reply"].startswith("Hi John, Dana here.")
        assert started["session"]["persona_id"] == second["id"]
