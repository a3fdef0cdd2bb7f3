"""The back half of the pipeline: `recommendations.ready` -> PDF rendered -> email received over SMTP.

    .venv/bin/python bench/prospectus_mailer_pipeline.py [--one-by-one 8] [--burst 24]

Runs the prospectus and mailer services as real processes (`python -m <service> serve`, SQLite,
one core each at most), an embedded NATS server (or NATS_URL) and an SMTP listener in this
process. The leads and the catalog are announced first, as leads and catalog would; then:
- one by one: each recommendation published after the previous email arrived, so the latency is
  the pipeline's own (p50/p95/max, seconds);
- burst: all recommendations published at once; the latency of each, and emails per second
  sustained from the first publish to the last email received.
The front half (call.ended -> needs -> recommendations) is rag's and is measured with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from mailer.adapters.dev_mailbox import DevSmtpServer
from parley_contracts import CallEnded, CallOutcome, LeadCreated, ProductUpserted
from prospectus.testing.events import catalog_events, drained, lead_snapshot, recommendation_for
from servicekit.bus import Bus, wait_for
from servicekit.nats_server import EmbeddedNats, free_port
from servicekit.testing.keys import generate_key_pair


class ArrivalRecorder:
    """SMTP handler noting when each recipient's email arrived (wall clock, as the publisher uses)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        stamp = time.time()
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.arrived.setdefault(recipient, stamp)
        return "250 2.0.0 Ok"

    def when(self, address: str) -> float | None:
        with self._lock:
            return self.arrived.get(address)


def start_service(package: str, port: int, env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / f"{package}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", package, "serve", "--port", str(port)],
        env={
            **env,
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / package}.db",
            "DATA_DIR": str(workdir / package),
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )


async def wait_healthy(ports: list[int], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as client:
        for port in ports:
            while True:
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"service on port {port} did not become ready")
                await asyncio.sleep(0.2)


async def wait_for_emails(recorder: ArrivalRecorder, addresses: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(recorder.when(a) is None for a in addresses):
        if time.monotonic() > deadline:
            missing = sum(recorder.when(a) is None for a in addresses)
            raise TimeoutError(f"{missing} of {len(addresses)} emails did not arrive within {timeout:.0f} s")
        await asyncio.sleep(0.01)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(label: str, latencies: list[float]) -> None:
    print(
        f"{label:<12} n={len(latencies):<4} p50 {percentile(latencies, 0.5):6.2f} s   "
        f"p95 {percentile(latencies, 0.95):6.2f} s   max {max(latencies):6.2f} s   "
        f"mean {statistics.fmean(latencies):6.2f} s"
    )


async def run(one_by_one: int, burst: int, workdir: Path) -> None:
    nats_server = None
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        nats_server = EmbeddedNats(workdir / "nats").start()
        nats_url = nats_server.url
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    keys = generate_key_pair()
    (workdir / "jwt_public.pem").write_text(keys.public_pem)
    recorder = ArrivalRecorder()
    smtp = DevSmtpServer(recorder, port=0)
    smtp.start()
    prospectus_port, mailer_port = free_port(), free_port()
    env = {
        **os.environ,
        "PARLEY_PROFILE": "test",
        "NATS_URL": nats_url,
        "BUS_NAMESPACE": namespace,
        "JWT_PUBLIC_KEY_FILE": str(workdir / "jwt_public.pem"),
        "AUTO_MIGRATE": "true",
        "LOG_LEVEL": "WARNING",
        "OUTBOX_POLL_SECONDS": "0.2",
        "WORKER_POLL_SECONDS": "0.2",
        "DELIVERY_POLL_SECONDS": "0.2",
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "UNSUBSCRIBE_SECRET": "bench-unsubscribe-secret-0123456789-abcdef",
    }
    services = [
        start_service("prospectus", prospectus_port, env, workdir),
        start_service("mailer", mailer_port, env, workdir),
    ]
    bus = Bus(nats_url, service="bench", namespace=namespace)
    try:
        await wait_healthy([prospectus_port, mailer_port])
        await bus.connect()
        leads = [
            lead_snapshot(uuid.uuid4(), name=f"Bench Lead {n}", email=f"lead{n}@example.com")
            for n in range(one_by_one + burst)
        ]
        for event in [*catalog_events(), *(LeadCreated(lead=lead) for lead in leads)]:
            await bus.publish_now(event)
        for lead in leads:
            # Permission to email, as the call records it.
            await bus.publish_now(
                CallEnded(
                    call_id=uuid.uuid4(),
                    lead_id=lead.id,
                    mode="simulated",
                    outcome=CallOutcome.ANSWERED,
                    email_permission=True,
                )
            )
        # Both services take in the leads, their permission and the catalog before the clock starts.
        for consumer, event_type in [
            ("prospectus-lead-created", LeadCreated),
            ("prospectus-product-upserted", ProductUpserted),
            ("prospectus-call-ended", CallEnded),
            ("mailer-lead-created", LeadCreated),
        ]:
            if not await wait_for(lambda c=consumer, e=event_type: drained(bus, c, e), timeout=60):
                raise TimeoutError(f"{consumer} did not catch up")

        single: list[float] = []
        for lead in leads[:one_by_one]:
            published = time.time()
            await bus.publish_now(recommendation_for(lead.id, lead.assigned_agent_id))
            await wait_for_emails(recorder, [str(lead.email)], timeout=120)
            single.append(recorder.arrived[str(lead.email)] - published)

        group = leads[one_by_one:]
        started = time.time()
        published_at: dict[str, float] = {}
        for lead in group:
            published_at[str(lead.email)] = time.time()
            await bus.publish_now(recommendation_for(lead.id, lead.assigned_agent_id))
        await wait_for_emails(recorder, list(published_at), timeout=600)
        finished = max(recorder.arrived[a] for a in published_at)
        under_load = [recorder.arrived[a] - published_at[a] for a in published_at]

        print(f"recommendations.ready -> email received (prospectus + mailer, {os.cpu_count()} cores)")
        if single:
            report("one by one", single)
        if under_load:
            report("burst", under_load)
            print(
                f"{'':<12} {len(group) / (finished - started):.2f} emails/s sustained ({len(group)} in "
                f"{finished - started:.1f} s)"
            )
    finally:
        await bus.close()
        for process in services:
            process.terminate()
        for process in services:
            process.wait(timeout=30)
        smtp.stop()
        if nats_server is not None:
            nats_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--one-by-one", type=int, default=8, help="recommendations measured alone")
    parser.add_argument("--burst", type=int, default=24, help="recommendations published at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as workdir:
        asyncio.run(run(args.one_by_one, args.burst, Path(workdir)))


if __name__ == "__main__":
    main()
