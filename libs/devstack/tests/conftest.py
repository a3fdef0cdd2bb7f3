"""The running platform, shared by every test that asks for `running_platform`: one
`python -m parley_devstack up` per test session, on the databases and NATS under test
(TEST_DATABASE_URL / TEST_NATS_URL, else SQLite files and an embedded nats-server), stopped with
Ctrl-C at the end of the session, which must exit cleanly.

`make up` binds fixed ports, so tests that start a platform of their own (the embedded-defaults run in
test_devstack_up.py) are ordered before the first test that uses the shared one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from parley_devstack.supervisor import available_services, port_free
from servicekit.testing.plugin import database_factory, delete_namespace_streams

ROOT = Path(__file__).resolve().parents[3]
PLATFORM_URL = "http://127.0.0.1:8080"
# Migrating, seeding and starting every service takes one to two minutes on a busy two-core machine.
STARTUP_TIMEOUT = 360
# For the tests that start a platform (theirs or the shared one): pytest-timeout counts fixture setup.
PLATFORM_TEST_TIMEOUT = 600

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Stable: everything else keeps its order, the shared platform starts after it.
    items.sort(key=lambda item: "running_platform" in getattr(item, "fixturenames", ()))


def wait_for_banner(
    process: subprocess.Popen[str], lines: list[str], timeout: float = STARTUP_TIMEOUT
) -> bool:
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


def stop(process: subprocess.Popen[str], output: list[str]) -> None:
    """Ctrl-C, as a person at the terminal would; the rest of the output goes to `output`."""
    process.send_signal(signal.SIGINT)
    try:
        rest, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        rest, _ = process.communicate()
    output.append(rest or "")


def login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def poll(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 120) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out; last value: {value!r}")
        time.sleep(0.5)


@dataclass
class RunningPlatform:
    url: str
    root: Path
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log_tail(self, service: str, lines: int = 40) -> str:
        """The end of one service's log (var/logs/<service>.log), for failure messages."""
        path = self.root / "var" / "logs" / f"{service}.log"
        if not path.exists():
            return f"(no {path})"
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _drain(process: subprocess.Popen[str], output: list[str]) -> None:
    # After the banner the supervisor still prints children's warnings; an unread pipe would fill up
    # and stall it (and then the services whose output it relays).
    assert process.stdout is not None
    for line in iter(process.stdout.readline, ""):
        output.append(line)


@pytest.fixture(scope="session")
async def running_platform(
    nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningPlatform]:
    """`make up` on fresh databases and a fresh bus namespace, for the whole session."""
    busy = [s.name for s in available_services() if not port_free("127.0.0.1", s.port)]
    if busy:
        pytest.skip(f"ports in use by a running Parley ({busy})")
    root = tmp_path_factory.mktemp("parley")
    namespace = f"t{uuid.uuid4().hex[:10]}"
    try:
        async with database_factory(os.environ.get("TEST_DATABASE_URL"), root) as make_database:
            env = {k: v for k, v in os.environ.items() if not k.startswith("TEST_")}
            for spec in available_services():
                prefix = spec.name.upper().replace("-", "_")
                env[f"{prefix}_DATABASE_URL"] = await make_database(spec.package)
            # The console built by `make web` (the browser tests drive it); state stays in `root`.
            env.update(
                NATS_URL=nats_url,
                BUS_NAMESPACE=namespace,
                LOG_JSON="false",
                WEB_DIST_DIR=str(ROOT / "web" / "dist"),
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "parley_devstack", "up", "--root", str(root)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            platform = RunningPlatform(PLATFORM_URL, root, process)
            drain: threading.Thread | None = None
            try:
                if not wait_for_banner(process, platform.output):
                    pytest.fail("the platform did not start:\n" + "".join(platform.output)[-8000:])
                drain = threading.Thread(target=_drain, args=(process, platform.output), daemon=True)
                drain.start()
                yield platform
            finally:
                if drain is not None:
                    process.send_signal(signal.SIGINT)
                    try:
                        process.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
                    drain.join(timeout=10)
                else:
                    stop(process, platform.output)
            log = "".join(platform.output)
            assert process.returncode == 0, log[-8000:]
            assert "all services stopped" in log, log[-8000:]
    finally:
        await delete_namespace_streams(nats_url, namespace)
