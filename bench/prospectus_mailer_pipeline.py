"""The whole pipeline: `call.ended` -> needs -> recommendations -> PDF rendered -> email received.

    .venv/bin/python bench/prospectus_mailer_pipeline.py [--one-by-one 8] [--burst 12 24]

Runs the catalog, rag, prospectus and mailer services as real processes (`python -m <service> serve`,
SQLite, offline AI: MiniLM embeddings on onnxruntime, Qdrant local mode, rules-based needs
extraction), an embedded NATS server (or NATS_URL) and an SMTP listener in this process. The catalog
loads its demo catalog (`python -m catalog seed`), whose events fill rag's index (rag fetches the
documents' text from the catalog) and prospectus's product projection; the leads are announced with
an email address, as the leads service would (nothing else is asked of it, so it does not run). The
clock starts once rag, prospectus and mailer have consumed those events and rag's index health counts
every product and document. Each call then ends as voice-bridge announces it: `CallEnded` with a
transcript in which the prospect states their needs (three kinds of call, in turn) and agrees to be
emailed. Measured until the email is received over SMTP:
- one by one: each call ended after the previous email arrived, so the latency is the pipeline's own
  (p50/p95/max, seconds);
- bursts: for each size, that many calls ended at once (after the previous burst was delivered); the
  latency of each, and calls per second sustained from the first `call.ended` to the last email.
The tables at the end split the median latency by stage (rag: up to `recommendations.ready`;
prospectus: up to `prospectus.generated`; mailer: up to the email) and show the CPU each service
(with its child processes, e.g. prospectus's renderers) used during each burst (1.00 = one core busy
throughout), to see what limits throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.smtp import SMTP, Envelope, Session
from catalog.demo import load_demo_catalog
from mailer.adapters.dev_mailbox import DevSmtpServer
from nats.aio.msg import Msg
from parley_contracts import (
    CallEnded,
    CallOutcome,
    DocumentUploaded,
    LeadCreated,
    LeadSnapshot,
    ProductUpserted,
    ProspectusGenerated,
    RecommendationsReady,
    TranscriptLine,
)
from prospectus.testing.events import drained, lead_snapshot
from servicekit.auth import Role
from servicekit.bus import Bus, wait_for
from servicekit.nats_server import EmbeddedNats, free_port
from servicekit.testing.keys import generate_key_pair, mint_token

SERVICES = ("catalog", "rag", "prospectus", "mailer")
QUESTIONS = (
    "What kind of cover are you looking for, and who would it protect?",
    "What monthly budget feels comfortable?",
    "What matters most to you in a policy?",
)
# The prospect's answers on three kinds of call (life, health, critical illness).
ANSWERS = (
    (
        "Life insurance, I think. I'm forty two, with my wife and two kids aged five and eight.",
        "Maybe 50 dollars a month.",
        "Protecting my family if something happens to me.",
    ),
    (
        "Health cover for the whole family: my husband is 40 and our kids are 9 and 6.",
        "I'm 38, and we can afford about 200 dollars a month.",
        "Hospital bills are what worry me.",
    ),
    (
        "I'm 45 and a non-smoker, but cancer runs in my family, so critical illness cover.",
        "Up to 40 dollars a month.",
        "A lump sum if I'm diagnosed, to keep paying the mortgage.",
    ),
)


def call_ended(lead: LeadSnapshot, answers: tuple[str, ...]) -> CallEnded:
    """A finished call as voice-bridge announces it: needs stated, permission to email given."""
    at = datetime.now(UTC)
    lines = [TranscriptLine(speaker="bot", text="Hi, this is Parley calling about insurance.", at=at)]
    for question, answer in zip(QUESTIONS, answers, strict=True):
        lines += [
            TranscriptLine(speaker="bot", text=question, at=at),
            TranscriptLine(speaker="prospect", text=answer, at=at),
        ]
    lines += [
        TranscriptLine(speaker="bot", text="May I email you a personalised prospectus?", at=at),
        TranscriptLine(speaker="prospect", text="Yes please, to the address you have.", at=at),
    ]
    return CallEnded(
        call_id=uuid.uuid4(),
        lead_id=lead.id,
        assigned_agent_id=lead.assigned_agent_id,
        mode="simulated",
        outcome=CallOutcome.ANSWERED,
        transcript=lines,
        email_permission=True,
    )


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


class StageRecorder:
    """When each lead's `recommendations.ready` and `prospectus.generated` went by on the bus."""

    def __init__(self) -> None:
        self.ready: dict[uuid.UUID, float] = {}
        self.generated: dict[uuid.UUID, float] = {}

    async def listen(self, bus: Bus) -> None:
        for event_type, stamps in [(RecommendationsReady, self.ready), (ProspectusGenerated, self.generated)]:
            await bus.nc.subscribe(bus.subject(event_type.subject), cb=self._stamper(event_type, stamps))

    @staticmethod
    def _stamper(
        event_type: type[RecommendationsReady | ProspectusGenerated], stamps: dict[uuid.UUID, float]
    ) -> Callable[[Msg], Any]:
        async def stamp(message: Msg) -> None:
            stamps.setdefault(event_type.model_validate_json(message.data).lead_id, time.time())

        return stamp


@dataclass
class CallTiming:
    ended: float  # `call.ended` published
    ready: float  # `recommendations.ready` seen
    generated: float  # `prospectus.generated` seen
    emailed: float  # email received over SMTP

    @property
    def latency(self) -> float:
        return self.emailed - self.ended


@dataclass
class Run:
    label: str
    timings: list[CallTiming]
    # Bursts only: first `call.ended` to last email received, and the cores each service used meanwhile.
    seconds: float | None = None
    cores: dict[str, float] = field(default_factory=dict)


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def service_env(package: str, env: dict[str, str], workdir: Path) -> dict[str, str]:
    return {
        **env,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / package}.db",
        "DATA_DIR": str(workdir / package),
    }


def start_service(package: str, env: dict[str, str], workdir: Path) -> Service:
    port = free_port()
    log = workdir / f"{package}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", package, "serve", "--port", str(port)],
            env=service_env(package, env, workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    return Service(package, port, process, log)


def stop_services(services: list[Service]) -> None:
    for service in services:
        service.process.terminate()
    for service in services:
        try:
            service.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def log_tail(service: Service, lines: int = 30) -> str:
    return "\n".join(service.log.read_text(errors="replace").splitlines()[-lines:])


async def wait_healthy(services: list[Service], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as client:
        for service in services:
            while True:
                if service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} exited:\n{log_tail(service)}")
                try:
                    if (await client.get(f"http://127.0.0.1:{service.port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} did not become ready:\n{log_tail(service)}")
                await asyncio.sleep(0.2)


async def wait_indexed(rag: Service, token: str, products: int, documents: int) -> dict[str, Any]:
    """rag's index health, once it counts every product and document of the demo catalog."""
    health: dict[str, Any] = {}

    async def indexed() -> bool:
        nonlocal health
        response = await client.get(
            f"http://127.0.0.1:{rag.port}/api/rag/index/health", headers={"Authorization": f"Bearer {token}"}
        )
        if response.status_code != 200:
            return False
        health = response.json()
        return health["products_known"] == products and health["documents_known"] == documents

    async with httpx.AsyncClient(timeout=5) as client:
        if not await wait_for(indexed, timeout=300, interval=0.5):
            raise TimeoutError(f"rag did not index the demo catalog; index health: {health}")
    return health


async def wait_for_emails(recorder: ArrivalRecorder, addresses: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(recorder.when(a) is None for a in addresses):
        if time.monotonic() > deadline:
            missing = sum(recorder.when(a) is None for a in addresses)
            raise TimeoutError(f"{missing} of {len(addresses)} emails did not arrive within {timeout:.0f} s")
        await asyncio.sleep(0.01)


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (field 3, the state, comes first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live descendants (e.g. prospectus's render
    processes), from Linux /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    ticks = 0
    for member in tree:
        with contextlib.suppress(OSError, IndexError):
            fields = _stat(member)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_tables(runs: list[Run]) -> None:
    print("| run | calls | p50 (s) | p95 (s) | max (s) | mean (s) | calls/s sustained |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        latencies = [t.latency for t in run.timings]
        rate = "-" if run.seconds is None else f"{len(latencies) / run.seconds:.2f} (in {run.seconds:.1f} s)"
        print(
            f"| {run.label} | {len(latencies)} | {percentile(latencies, 0.5):.2f} | "
            f"{percentile(latencies, 0.95):.2f} | {max(latencies):.2f} | {statistics.fmean(latencies):.2f} | "
            f"{rate} |"
        )
    print()
    print("| run | rag p50 (s) | prospectus p50 (s) | mailer p50 (s) |")
    print("|---|---:|---:|---:|")
    for run in runs:
        stages = [
            statistics.median(t.ready - t.ended for t in run.timings),
            statistics.median(t.generated - t.ready for t in run.timings),
            statistics.median(t.emailed - t.generated for t in run.timings),
        ]
        print(f"| {run.label} | " + " | ".join(f"{s:.2f}" for s in stages) + " |")
    bursts = [run for run in runs if run.cores]
    if bursts:
        print()
        print("| CPU used (cores) | " + " | ".join(SERVICES) + " |")
        print("|---|" + "---:|" * len(SERVICES))
        for run in bursts:
            print(f"| {run.label} | " + " | ".join(f"{run.cores[name]:.2f}" for name in SERVICES) + " |")


async def run(one_by_one: int, bursts: list[int], workdir: Path) -> None:
    # SIGTERM ends the run like Ctrl-C does: through the clean-up of everything started so far.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    async with contextlib.AsyncExitStack() as cleanup:
        await measure(one_by_one, bursts, workdir, cleanup)


async def measure(
    one_by_one: int, bursts: list[int], workdir: Path, cleanup: contextlib.AsyncExitStack
) -> None:
    nats_url = os.environ.get("NATS_URL")
    if not nats_url:
        nats_server = EmbeddedNats(workdir / "nats").start()
        cleanup.callback(nats_server.stop)
        nats_url = nats_server.url
    keys = generate_key_pair()
    (workdir / "jwt_public.pem").write_text(keys.public_pem)
    recorder = ArrivalRecorder()
    smtp = DevSmtpServer(recorder, port=0)
    smtp.start()
    cleanup.callback(smtp.stop)
    env = {
        # Offline AI only: an OpenAI key in the environment would send the text and embeddings out.
        **{key: value for key, value in os.environ.items() if not key.startswith("OPENAI_")},
        "PARLEY_PROFILE": "test",
        "NATS_URL": nats_url,
        "BUS_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}",
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
    services: list[Service] = []
    cleanup.callback(stop_services, services)
    bus = Bus(nats_url, service="bench", namespace=env["BUS_NAMESPACE"])
    cleanup.push_async_callback(bus.close)
    # The demo catalog, stored and announced before anyone listens (consumers start from the first event).
    seeded = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "catalog", "seed",
        env=service_env("catalog", env, workdir), cwd=workdir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await seeded.communicate()
    if seeded.returncode != 0:
        raise RuntimeError(f"catalog seed failed:\n{output.decode(errors='replace')}")
    services.extend(start_service(name, env, workdir) for name in SERVICES)
    await wait_healthy(services)
    await bus.connect()
    stages = StageRecorder()
    await stages.listen(bus)

    leads = [
        lead_snapshot(uuid.uuid4(), name=f"Bench Lead {n}", email=f"lead{n}@example.com")
        for n in range(one_by_one + sum(bursts))
    ]
    for lead in leads:
        await bus.publish_now(LeadCreated(lead=lead))
    demo = load_demo_catalog()
    admin = mint_token(keys, user_id=uuid.uuid4(), role=Role.ADMIN)
    rag = next(s for s in services if s.name == "rag")
    # Every handler commits before it acks: a drained rag consumer has indexed all it was given.
    for consumer, event_type in [
        ("rag-product-upserted", ProductUpserted),
        ("rag-document-uploaded", DocumentUploaded),
        ("rag-lead-created", LeadCreated),
        ("prospectus-product-upserted", ProductUpserted),
        ("prospectus-lead-created", LeadCreated),
        ("mailer-lead-created", LeadCreated),
    ]:
        if not await wait_for(lambda c=consumer, e=event_type: drained(bus, c, e), timeout=300):
            raise TimeoutError(f"{consumer} did not catch up")
    health = await wait_indexed(rag, admin, len(demo.products), len(demo.documents))

    def timing(lead: LeadSnapshot, ended: float) -> CallTiming:
        return CallTiming(
            ended, stages.ready[lead.id], stages.generated[lead.id], recorder.arrived[str(lead.email)]
        )

    runs: list[Run] = []
    if one_by_one:
        single = Run("one by one", [])
        for n, lead in enumerate(leads[:one_by_one]):
            ended = time.time()
            await bus.publish_now(call_ended(lead, ANSWERS[n % len(ANSWERS)]))
            await wait_for_emails(recorder, [str(lead.email)], timeout=120)
            single.timings.append(timing(lead, ended))
        runs.append(single)

    offset = one_by_one
    for size in filter(None, bursts):
        group, offset = leads[offset : offset + size], offset + size
        cpu_before = {s.name: cpu_seconds(s.process.pid) for s in services}
        ended_at: dict[uuid.UUID, float] = {}
        for n, lead in enumerate(group):
            ended_at[lead.id] = time.time()
            await bus.publish_now(call_ended(lead, ANSWERS[n % len(ANSWERS)]))
        await wait_for_emails(recorder, [str(lead.email) for lead in group], timeout=600)
        seconds = max(recorder.arrived[str(lead.email)] for lead in group) - ended_at[group[0].id]
        cores = {s.name: (cpu_seconds(s.process.pid) - cpu_before[s.name]) / seconds for s in services}
        timings = [timing(lead, ended_at[lead.id]) for lead in group]
        runs.append(Run(f"burst of {size}", timings, seconds, cores))

    counts = health["counts"]
    print(
        f"call.ended -> email received: rag + prospectus + mailer on {os.cpu_count()} cores, demo catalog "
        f"of {health['products_known']} products and {health['documents_known']} documents "
        f"({counts['product_chunks']} + {counts['document_chunks']} chunks, {health['model_id']}); "
        f"host load average {os.getloadavg()[0]:.1f} (other work on the host skews the numbers)"
    )
    print_tables(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--one-by-one", type=int, default=8, help="calls measured alone")
    parser.add_argument(
        "--burst", type=int, nargs="*", default=[12, 24], help="sizes of the bursts of calls ended at once"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as workdir:
        asyncio.run(run(args.one_by_one, args.burst, Path(workdir)))


if __name__ == "__main__":
    main()
