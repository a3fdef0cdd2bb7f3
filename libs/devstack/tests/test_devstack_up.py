"""`make up` end to end: the supervisor starts every service on embedded defaults, the demo logins
work, agents see only their leads, and Ctrl-C stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from parley_devstack.supervisor import available_services, port_free
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def wait_for_banner(process: subprocess.Popen[str], lines: list[str], timeout: float = 240) -> bool:
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return False
        lines.append(line)
        if "Parley is up" in line:
            return True
    return False


def login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


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
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            rest, _ = process.communicate()
        output.append(rest)
    log = "".join(output)
    assert process.returncode == 0, log
    assert "all services stopped" in log
    assert all(port_free("127.0.0.1", s.port) for s in available_services())
    assert (tmp_path / "var" / "secrets" / "jwt_private.pem").stat().st_mode & 0o077 == 0
