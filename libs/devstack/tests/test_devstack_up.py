"""`make up` end to end: the supervisor starts every service on embedded defaults, the demo logins
work, agents see only their leads, and Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from parley_devstack.supervisor import available_services, port_free
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2

from .conftest import PLATFORM_TEST_TIMEOUT, ROOT, RunningPlatform, login, poll, stop, wait_for_banner

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(PLATFORM_TEST_TIMEOUT)]


def test_make_up_serves_the_platform_and_stops_cleanly(tmp_path):
    busy = [s.name for s in available_services() if not port_free("127.0.0.1", s.port)]
    if busy:
        pytest.skip(f"ports in use by a running Parley ({busy}); stop it to run this test")
    (tmp_path / "web").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_URL", "TEST_"))}
    env.update(EMBEDDED_NATS_PORT="24222", LOG_JSON="false")
    process = subprocess.Popen(
        [sys.executable, "-m", "parley_devstack", "up", "--root", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert wait_for_banner(process, output), "".join(output)
        with httpx.Client(base_url="http://127.0.0.1:8080", timeout=10) as client:
            admin = login(client, DEMO_ADMIN.email, DEMO_ADMIN.password)
            agent = login(client, DEMO_AGENT.email, DEMO_AGENT.password)
            all_leads = client.get("/api/leads", params={"page_size": 100}, headers=admin).json()["items"]
            owners = {lead["assigned_agent_id"] for lead in all_leads}
            assert owners == {str(DEMO_AGENT.id), str(DEMO_AGENT2.id)}
            mine = client.get("/api/leads", params={"page_size": 100}, headers=agent).json()["items"]
            assert mine and {lead["assigned_agent_id"] for lead in mine} == {str(DEMO_AGENT.id)}
            theirs = next(lead for lead in all_leads if lead["assigned_agent_id"] == str(DEMO_AGENT2.id))
            assert client.get(f"/api/leads/{theirs['id']}", headers=agent).status_code == 404
            ready = client.get("/readyz").json()
            assert ready["status"] == "ready" and all(v == "ok" for v in ready["dependencies"].values())
            assert "Parley" in client.get("/").text
    finally:
        stop(process, output)
    log = "".join(output)
    assert process.returncode == 0, log
    assert "all services stopped" in log
    assert all(port_free("127.0.0.1", s.port) for s in available_services())
    assert (tmp_path / "var" / "secrets" / "jwt_private.pem").stat().st_mode & 0o077 == 0


SCRIPT = [
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
    "Yes please",
    "It's j o h n dot smith at example dot com",
    "Yes, that's right",
    "No, that's all, thanks",
]


def test_a_simulated_call_ends_with_the_prospectus_in_the_prospects_mailbox(
    running_platform: RunningPlatform,
):
    """The whole pipeline on the running platform: call -> needs -> recommendations -> PDF -> email
    received by a real SMTP listener (the dev mailbox) -> every step on the lead's timeline."""
    import io

    from pypdf import PdfReader

    with running_platform.client() as client:
        agent = login(client, DEMO_AGENT.email, DEMO_AGENT.password)
        admin = login(client, DEMO_ADMIN.email, DEMO_ADMIN.password)
        # The catalog's seed events reach rag asynchronously after start-up; call once they are indexed.
        poll(
            lambda: client.get("/api/rag/index/health", headers=admin).json(),
            lambda h: h["products_known"] >= 15 and h["counts"]["product_chunks"] >= 15,
        )
        lead = client.post(
            "/api/leads",
            headers=agent,
            json={
                "name": "John Smith",
                "phone": "+14155550177",
                "timezone": "America/New_York",
                "consent_flags": {"call_recording": True},
            },
        ).json()
        session = client.post(
            "/api/voice/sessions", headers=agent, json={"lead_id": lead["id"], "mode": "simulated"}
        ).json()["session"]
        for text in SCRIPT:
            r = client.post(
                f"/api/voice/sessions/{session['id']}/messages", json={"text": text}, headers=agent
            )
            assert r.status_code == 200, r.text
        assert r.json()["ended"], r.json()

        recommended = poll(
            lambda: client.get(f"/api/rag/leads/{lead['id']}/recommendations", headers=agent),
            lambda r: r.status_code == 200,
        ).json()
        names = [item["name"] for item in recommended["recommendation"]["items"]]
        assert names, recommended
        version = poll(
            lambda: client.get(f"/api/prospectus/{lead['id']}", headers=agent).json(),
            lambda page: page["items"] and page["items"][0]["status"] == "READY",
        )["items"][0]
        pdf = client.get(f"/api/prospectus/{lead['id']}/{version['version']}/pdf", headers=agent)
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "John" in text and all(name in text for name in names[:3])

        mailbox = poll(
            lambda: client.get("/api/dev/mailbox", headers=agent).json()["items"],
            lambda items: any("john.smith@example.com" in " ".join(i["recipients"]) for i in items),
        )
        message = next(i for i in mailbox if "john.smith@example.com" in " ".join(i["recipients"]))
        opened = client.get(f"/api/dev/mailbox/{message['id']}", headers=agent).json()
        assert [a["filename"].endswith(".pdf") for a in opened["attachments"]] == [True]

        timeline = poll(
            lambda: client.get(
                f"/api/leads/{lead['id']}/activities",
                params={"order": "asc", "page_size": 100},
                headers=agent,
            ).json()["items"],
            lambda items: "EMAIL" in {a["type"] for a in items},
        )
        kinds = {a["type"] for a in timeline}
        assert {"CALL", "NEEDS", "RECOMMENDATION", "PROSPECTUS", "EMAIL"} <= kinds, kinds
        assert client.get(f"/api/leads/{lead['id']}", headers=agent).json()["status"] == "PROPOSAL_SENT"
