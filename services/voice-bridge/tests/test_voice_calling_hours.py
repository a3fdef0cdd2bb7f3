"""Calling hours before a phone call is placed: the country's legal hours in every zone the lead may be
in, read from the same settings as the scheduler's; and the admin-only, audited override."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from parley_contracts import AuditRecorded, ConsentFlags, LeadSnapshot
from servicekit.auth import Role
from voice_bridge.domain.calling_hours import hours_refusal
from voice_bridge.settings import VoiceBridgeSettings

from .conftest import ADMIN_ID, lead_snapshot
from .test_voice_phone_calls import PhoneRig, phone  # noqa: F401 (the phone-line fixture)

RULES = VoiceBridgeSettings().calling_rules_table()
COASTS = ["America/New_York", "America/Los_Angeles"]


def _at(clock: str, zone: str, day: str = "2026-03-04") -> datetime:
    """A wall-clock time in `zone` (2026-03-04 is a Wednesday), as an aware instant."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=ZoneInfo(zone))


def _us_lead(**overrides: Any) -> LeadSnapshot:
    fields: dict[str, Any] = {
        "timezone": "America/New_York",
        "timezone_candidates": COASTS,
        "timezone_source": "from_phone",
        "country": "US",
    }
    return lead_snapshot(**(fields | overrides))


def test_a_lead_who_may_be_on_either_coast_is_refused_until_it_is_legal_on_both() -> None:
    at = _at("06:30", "America/Los_Angeles")
    assert at == _at("09:30", "America/New_York")  # legal in New York alone is not enough

    refused = hours_refusal(RULES, _us_lead(), at)

    assert refused is not None and refused.code == "outside_calling_hours"
    assert refused.zones == ("America/New_York", "America/Los_Angeles")
    assert refused.rule == "Mon-Sun 08:00-21:00"
    assert refused.next_allowed == _at("08:00", "America/Los_Angeles") == _at("11:00", "America/New_York")
    message = refused.message
    assert "America/New_York, America/Los_Angeles" in message and "Mon-Sun 08:00-21:00" in message
    assert "2026-03-04 16:00 UTC" in message
    assert "08:00 America/Los_Angeles" in message and "11:00 America/New_York" in message


def test_the_same_lead_may_be_called_at_eleven_in_new_york() -> None:
    assert hours_refusal(RULES, _us_lead(), _at("11:00", "America/New_York")) is None


@pytest.mark.parametrize(
    "lead",
    [
        _us_lead(timezone="UTC", timezone_candidates=[], timezone_source="unknown"),
        _us_lead(timezone="Mars/Olympus_Mons", timezone_candidates=[], timezone_source="given"),
    ],
    ids=["unknown", "not-a-zone"],
)
def test_a_lead_without_a_usable_timezone_is_refused_whatever_the_time(lead: LeadSnapshot) -> None:
    refused = hours_refusal(RULES, lead, _at("12:00", "America/Chicago"))

    assert refused is not None and refused.code == "timezone_needed"
    assert "set it on the lead" in refused.message and refused.zones == ()
    assert refused.next_allowed is None


def test_a_french_lead_is_not_called_on_a_saturday() -> None:
    lead = lead_snapshot(
        phone="+33612345678",
        timezone="Europe/Paris",
        timezone_candidates=["Europe/Paris"],
        timezone_source="from_phone",
        country="FR",
    )
    saturday = _at("11:00", "Europe/Paris", day="2026-03-07")

    refused = hours_refusal(RULES, lead, saturday)

    assert refused is not None and refused.code == "outside_calling_hours"
    assert "rule for FR: Mon-Fri 10:00-13:00, 14:00-20:00; Sat-Sun closed" in refused.message
    assert refused.next_allowed == _at("10:00", "Europe/Paris", day="2026-03-09")  # Monday morning
    assert hours_refusal(RULES, lead, _at("11:00", "Europe/Paris", day="2026-03-09")) is None


def test_calling_hours_come_from_the_schedulers_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLING_HOURS_START", "09:00")
    monkeypatch.setenv("CALLING_DAYS", '["MON","TUE","WED","THU","FRI"]')
    monkeypatch.setenv("CALLING_RULES", '{"US": {"hours": {"MON-FRI": ["10:00-18:00"]}}}')
    rules = VoiceBridgeSettings().calling_rules_table()
    assert rules.default.describe() == "Mon-Fri 09:00-21:00; Sat-Sun closed"
    assert rules.for_country("US").describe() == "Mon-Fri 10:00-18:00; Sat-Sun closed"
    assert rules.for_country("FR").describe().startswith("Mon-Fri 10:00-13:00")  # the built-in row

    monkeypatch.setenv("CALLING_RULES_BUILTIN", "false")
    assert VoiceBridgeSettings().calling_rules_table().for_country("FR") == rules.default


# -- through the API -----------------------------------------------------------------------------


async def _dial(rig: PhoneRig, lead_id: uuid.UUID, headers: dict[str, str], **extra: Any) -> Any:
    body = {"lead_id": str(lead_id), "mode": "phone", **extra}
    return await rig.app.client.post("/api/voice/sessions", json=body, headers=headers)


@pytest.mark.integration
async def test_only_admins_override_calling_hours_and_it_is_audited(phone: PhoneRig) -> None:  # noqa: F811
    phone.close_calling_hours()
    lead = await phone.app.create_lead(timezone="America/New_York")

    refused = await _dial(phone, lead.id, phone.app.admin)
    assert refused.status_code == 409 and refused.json()["code"] == "outside_calling_hours"
    assert (
        "America/New_York" in refused.json()["detail"]
        and "The next legal time is" in refused.json()["detail"]
    )
    by_agent = await _dial(phone, lead.id, phone.app.agent, override_calling_hours=True)
    assert by_agent.status_code == 403
    assert by_agent.headers["content-type"] == "application/problem+json"
    simulated = await phone.app.client.post(
        "/api/voice/sessions",
        json={"lead_id": str(lead.id), "mode": "simulated", "override_calling_hours": True},
        headers=phone.app.admin,
    )
    assert simulated.status_code == 422
    assert phone.twilio.calls == {} and not await phone.app.events(AuditRecorded)

    placed = await _dial(phone, lead.id, phone.app.admin, override_calling_hours=True)

    assert placed.status_code == 201, placed.text
    session = placed.json()["session"]
    [call] = phone.twilio.calls.values()
    assert call.to == lead.phone and session["status"] == "DIALING"
    [audit] = await phone.app.events(AuditRecorded)
    assert (audit.service, audit.action) == ("voice-bridge", "voice_session.calling_hours_overridden")
    assert audit.actor_id == ADMIN_ID and audit.actor_role == Role.ADMIN.value
    assert (audit.entity, audit.entity_id) == ("voice_session", session["id"])
    assert audit.after is not None
    assert audit.after["lead_id"] == str(lead.id) and audit.after["refusal"] == "outside_calling_hours"
    assert audit.after["zones"] == ["America/New_York"] and audit.after["rule"].startswith("Mon-Sun")
    assert set(audit.after["local_times"]) == {"America/New_York"}


@pytest.mark.integration
async def test_the_override_never_covers_dnd_nor_audits_a_legal_call(phone: PhoneRig) -> None:  # noqa: F811
    dnd = await phone.app.create_lead(consent_flags=ConsentFlags(dnd=True))
    refused = await _dial(phone, dnd.id, phone.app.admin, override_calling_hours=True)
    assert refused.status_code == 409 and refused.json()["code"] == "lead_dnd"

    unknown = await phone.app.create_lead(timezone="UTC", timezone_source="unknown")
    needed = await _dial(phone, unknown.id, phone.app.agent)
    assert needed.status_code == 409 and needed.json()["code"] == "timezone_needed"
    assert "timezone is unknown" in needed.json()["detail"]

    # The rig's hours are 00:00-24:00: an override inside legal hours overrides nothing.
    lead = await phone.app.create_lead()
    assert (await _dial(phone, lead.id, phone.app.admin, override_calling_hours=True)).status_code == 201
    assert len(phone.twilio.calls) == 1 and not await phone.app.events(AuditRecorded)
