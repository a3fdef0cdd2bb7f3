"""CSV import: mapping, normalisation, dedupe, per-row errors, atomicity, encodings, size."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def csv_bytes(rows: list[str], header: str = "Full Name,Mobile,E-mail,Time Zone,Age") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


async def upload(app, data: bytes, headers, **form):
    return await app.client.post(
        "/api/leads/import", files={"file": ("leads.csv", data, "text/csv")}, data=form, headers=headers
    )


async def test_import_maps_headers_normalises_and_dedupes(leads_app):
    await leads_app.client.post(
        "/api/leads", json={"name": "Existing", "phone": "+14155550100"}, headers=leads_app.agent
    )
    data = csv_bytes(
        [
            "Jane Roe,(415) 555-0101,jane@example.com,America/Chicago,41",
            "John Doe,+1 415 555 0102,,Europe/Paris,",
            "Jane Again,415-555-0101,jane2@example.com,UTC,30",  # same phone as row 1 after normalisation
            "Old Lead,4155550100,,UTC,",  # already stored
            "Dup Mail,4155550103,JANE@example.com,UTC,",  # same email as row 1
        ]
    )
    r = await upload(leads_app, data, leads_app.agent, default_region="US")
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["imported"] == 2 and report["total_rows"] == 5 and report["errors"] == []
    assert [d["line"] for d in report["duplicates"]] == [4, 5, 6]
    assert report["header_mapping"] == {
        "Full Name": "name",
        "Mobile": "phone",
        "E-mail": "email",
        "Time Zone": "timezone",
        "Age": "age",
    }
    listed = (
        await leads_app.client.get("/api/leads", params={"sort": "name"}, headers=leads_app.agent)
    ).json()
    assert {(i["name"], i["phone"], i["timezone"]) for i in listed["items"]} >= {
        ("Jane Roe", "+14155550101", "America/Chicago"),
        ("John Doe", "+14155550102", "Europe/Paris"),
    }


async def test_a_file_with_broken_rows_imports_nothing_by_default(leads_app):
    data = csv_bytes(
        [
            "Good One,+14155550111,,UTC,30",
            "Bad Phone,12,,UTC,30",
            "Bad Zone,+14155550112,,Moon/Base,30",
            "Bad Age,+14155550113,,UTC,two hundred",
            "Short Row,+14155550114",
        ]
    )
    r = await upload(leads_app, data, leads_app.agent)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert {(e["line"], e["column"]) for e in problem["errors"]} == {
        (3, "phone"),
        (4, "timezone"),
        (5, "age"),
        (6, None),
    }
    assert (await leads_app.client.get("/api/leads", headers=leads_app.agent)).json()["total"] == 0

    r = await upload(leads_app, data, leads_app.agent, mode="skip_invalid")
    assert r.status_code == 201 and r.json()["imported"] == 1 and len(r.json()["errors"]) == 4


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("Nom,Téléphone\nRenée,+33612345678\n".encode("latin-1"), "not valid utf-8"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not valid utf-8"),
        (b"name,email\nAda,ada@example.com\n", "no phone column"),
        (b"phone\n+14155550100\n", "no name column"),
    ],
)
async def test_unusable_files_are_rejected_clearly(leads_app, data, fragment):
    r = await upload(leads_app, data, leads_app.agent)
    assert r.status_code == 422 and fragment in r.json()["detail"].lower()


async def test_latin1_file_with_declared_encoding_and_explicit_mapping(leads_app):
    data = "Nom,Téléphone,Fuseau\nRenée Dupont,06 12 34 56 78,Europe/Paris\n".encode("latin-1")
    r = await upload(
        leads_app,
        data,
        leads_app.agent,
        encoding="latin-1",
        default_region="FR",
        mapping='{"Nom": "name", "Téléphone": "phone", "Fuseau": "timezone"}',
    )
    assert r.status_code == 201, r.text
    lead = (await leads_app.client.get("/api/leads", headers=leads_app.agent)).json()["items"][0]
    assert (lead["name"], lead["phone"]) == ("Renée Dupont", "+33612345678")
    bad = await upload(leads_app, data, leads_app.agent, mapping="[1,2]")
    assert bad.status_code == 400
    bad = await upload(leads_app, data, leads_app.agent, mapping='{"Nom": "nickname"}')
    assert bad.status_code == 422


async def test_agents_cannot_import_for_others(leads_app):
    r = await upload(
        leads_app,
        csv_bytes(["A,+14155550101,,UTC,"]),
        leads_app.agent,
        assigned_agent_id="00000000-0000-4000-8000-000000000999",
    )
    assert r.status_code == 403


@pytest.mark.slow
async def test_fifty_thousand_rows_import_in_one_request(leads_app):
    rows = [
        f"Lead {i},+1415{5550000 + i:07d},lead{i}@example.com,America/New_York,{20 + i % 60}"
        for i in range(50_000)
    ]
    r = await upload(leads_app, csv_bytes(rows), leads_app.admin)
    assert r.status_code == 201, r.text[:500]
    assert r.json()["imported"] == 50_000
    listed = (
        await leads_app.client.get("/api/leads", params={"page_size": 1}, headers=leads_app.admin)
    ).json()
    assert listed["total"] == 50_000


async def test_a_source_column_is_kept_and_rows_without_one_come_from_csv(leads_app):
    data = csv_bytes(
        ["Web Wendy,+14155550171,web form", "Blank Bob,+14155550172,"], header="name,phone,source"
    )
    r = await upload(leads_app, data, leads_app.agent)
    assert r.status_code == 201, r.text
    listed = (
        await leads_app.client.get("/api/leads", params={"q": "+1415555017"}, headers=leads_app.agent)
    ).json()
    assert {i["name"]: i["source"] for i in listed["items"]} == {"Web Wendy": "web form", "Blank Bob": "csv"}
