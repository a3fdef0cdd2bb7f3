"""A lead's timezone comes from the person: given, else their phone number, then their location."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from parley_contracts import LeadTimezoneConfirmed

pytestmark = pytest.mark.integration


async def create(app, **body):
    body.setdefault("name", "Pat Doe")
    response = await app.client.post("/api/leads", json=body, headers=app.agent)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("phone", "zone", "country"),
    [
        ("+12125550123", "America/New_York", "US"),
        ("+442079460000", "Europe/London", "GB"),
        ("+919876543210", "Asia/Kolkata", "IN"),
    ],
)
async def test_a_lead_without_a_timezone_gets_its_phones(leads_app, phone, zone, country):
    lead = await create(leads_app, phone=phone)
    assert (lead["timezone"], lead["timezone_source"], lead["timezone_candidates"], lead["country"]) == (
        zone,
        "from_phone",
        [zone],
        country,
    )


async def test_an_explicit_timezone_wins(leads_app):
    lead = await create(leads_app, phone="+12125550124", timezone="America/Los_Angeles", location="London")
    assert lead["timezone"] == "America/Los_Angeles"
    assert lead["timezone_source"] == "given"
    assert lead["timezone_candidates"] == ["America/Los_Angeles"]


async def test_an_ambiguous_number_keeps_its_candidates_and_a_location_narrows_them(leads_app):
    mobile = await create(leads_app, phone="+61412345671")
    assert mobile["timezone_source"] == "from_phone"
    assert {"Australia/Perth", "Australia/Sydney"} <= set(mobile["timezone_candidates"])
    perth = await create(leads_app, phone="+61412345672", location="Perth, WA")
    assert (perth["timezone"], perth["timezone_source"], perth["timezone_candidates"]) == (
        "Australia/Perth",
        "from_location",
        ["Australia/Perth"],
    )


async def test_a_new_phone_re_derives_a_guessed_timezone_but_never_a_stated_one(leads_app):
    guessed = await create(leads_app, phone="+12125550125")
    moved = await leads_app.client.patch(
        f"/api/leads/{guessed['id']}", json={"phone": "+13105550125"}, headers=leads_app.agent
    )
    assert moved.json()["timezone"] == "America/Los_Angeles"
    stated = await create(leads_app, phone="+12125550126", timezone="America/Chicago")
    kept = await leads_app.client.patch(
        f"/api/leads/{stated['id']}", json={"phone": "+442079460001"}, headers=leads_app.agent
    )
    body = kept.json()
    assert (body["timezone"], body["timezone_source"], body["country"]) == ("America/Chicago", "given", "GB")


async def test_a_csv_without_a_timezone_column_gives_the_same_zones(leads_app):
    rows = [
        "name,phone,location",
        "New Yorker,+12125550131,",
        "Londoner,+442079460031,",
        "Mumbaikar,+919876543231,",
        "Perth Mobile,+61412345631,Perth WA",
        "Freephone,+80012345631,",
    ]
    data = ("\n".join(rows) + "\n").encode()
    preview = await leads_app.client.post(
        "/api/leads/import",
        files={"file": ("leads.csv", data, "text/csv")},
        data={"dry_run": "true", "default_timezone": "Europe/Madrid"},
        headers=leads_app.agent,
    )
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["dry_run"] and report["imported"] == 0
    shown = {row["name"]: (row["timezone"], row["timezone_source"]) for row in report["rows"]}
    assert shown == {
        "New Yorker": ("America/New_York", "from_phone"),
        "Londoner": ("Europe/London", "from_phone"),
        "Mumbaikar": ("Asia/Kolkata", "from_phone"),
        "Perth Mobile": ("Australia/Perth", "from_location"),
        # The form's default only covers a number that maps to no zone.
        "Freephone": ("Europe/Madrid", "fallback"),
    }
    # Nothing was written by the preview.
    listed = await leads_app.client.get("/api/leads", params={"q": "+1212555013"}, headers=leads_app.agent)
    assert listed.json()["total"] == 0

    imported = await leads_app.client.post(
        "/api/leads/import", files={"file": ("leads.csv", data, "text/csv")}, headers=leads_app.agent
    )
    assert imported.status_code == 201 and imported.json()["imported"] == 5
    stored = await leads_app.client.get("/api/leads", params={"q": "Freephone"}, headers=leads_app.agent)
    (freephone,) = stored.json()["items"]
    # Without a fallback a number that maps nowhere is "unknown": the dialer holds it.
    assert (freephone["timezone_source"], freephone["timezone_candidates"]) == ("unknown", [])


async def test_a_bad_default_timezone_is_a_field_error(leads_app):
    response = await leads_app.client.post(
        "/api/leads/import",
        files={"file": ("leads.csv", b"name,phone\nA,+12125550141\n", "text/csv")},
        data={"default_timezone": "Mars/Base"},
        headers=leads_app.agent,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", "default_timezone"]


async def test_a_timezone_confirmed_on_a_call_settles_it(leads_app):
    lead = await create(leads_app, phone="+61412345681")
    assert len(lead["timezone_candidates"]) > 1
    await leads_app.publish(
        LeadTimezoneConfirmed(
            lead_id=uuid.UUID(lead["id"]), timezone="Australia/Perth", call_id=uuid.uuid4(), said="Yes, Perth"
        )
    )
    for _ in range(100):
        current = (await leads_app.client.get(f"/api/leads/{lead['id']}", headers=leads_app.agent)).json()
        if current["timezone_source"] == "confirmed_on_call":
            break
        await asyncio.sleep(0.05)
    assert (current["timezone"], current["timezone_candidates"]) == ("Australia/Perth", ["Australia/Perth"])
    timeline = (
        await leads_app.client.get(f"/api/leads/{lead['id']}/activities", headers=leads_app.agent)
    ).json()
    assert any(
        item["summary"] == "Timezone confirmed on the call: Australia/Perth" for item in timeline["items"]
    )
    # A later phone change does not undo what the lead said.
    patched = await leads_app.client.patch(
        f"/api/leads/{lead['id']}", json={"phone": "+61412345682"}, headers=leads_app.agent
    )
    assert patched.json()["timezone"] == "Australia/Perth"
