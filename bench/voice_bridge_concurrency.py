"""Concurrent phone calls through one voice-bridge process, against the Twilio and Realtime fakes.

    .venv/bin/python bench/voice_bridge_concurrency.py [--calls 10 50 100] [--seconds 10]

For each N a fresh bridge process (pinned to core 0; uvicorn + uvloop as in production) serves N
simultaneous calls, while this process (pinned to core 1) plays Twilio for every call and runs the
fake Realtime server. Each call streams tagged 20 ms caller frames in real time; the bot answers in
100 ms audio chunks at 5x real time; the caller barges in on every answer 0.4-1.6 s into playback
and then talks for 0.2-0.8 s (drawn per turn from a seeded RNG, so calls are not in lockstep).
Twilio playback is simulated in real time: marks come back when the audio would have played.

Printed per N:
- relay latency p50/p99: caller frame -> `input_audio_buffer.append`, and Realtime delta -> Twilio
  `media`, timed from one fake's send to the other fake's receive: two loopback hops and the fakes'
  own scheduling are included, so this is an upper bound on what the bridge adds;
- barge-in reaction p50/p99: `speech_started` sent -> Twilio `clear` received;
- bridge CPU seconds per call (and the share of its core) and RSS per call;
- frames dropped (sent by one fake, never delivered to the other), both directions;
- event-loop lag p99 of both processes and the host's load average: on a shared host, scheduling
  noise from other work shows up there first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import multiprocessing
import os
import random
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import uuid4

import uvloop
from openai import AsyncOpenAI
from parley_contracts import TranscriptLine
from starlette.websockets import WebSocket
from voice_bridge.adapters.realtime import RealtimeConnector, RealtimeSessionConfig
from voice_bridge.adapters.twilio_media import TwilioStreamStart
from voice_bridge.call_bridge import CallBridge
from voice_bridge.domain.call import CallContext
from voice_bridge.domain.ports import EventLogEntry
from voice_bridge.testing import (
    AudioReply,
    FakeRealtimeServer,
    FakeRealtimeSession,
    FakeTwilioMediaClient,
    MediaStreamHarness,
    ScriptedToolBackend,
    mulaw_frame,
    tag_of,
)

BRIDGE_CORE, LOAD_CORE = 0, 1
TWO_CORES = {BRIDGE_CORE, LOAD_CORE} <= os.sched_getaffinity(0)
FRAME_S = 0.020
BOT_AUDIO_MS, BOT_CHUNK_MS, BOT_CHUNK_INTERVAL_S = 2000, 100, 0.020
# Seconds, drawn per turn: how long the caller listens before interrupting, and then talks.
BARGE_IN_AFTER_S, CALLER_TALKS_S = (0.4, 1.6), (0.2, 0.8)
CALL_INDEX_SHIFT = 32  # a tag is (call index << 32) | sequence number
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LAG_PROBE_S = 0.010
WINDOW_START, WINDOW_END, ALL_HUNG_UP = "window-start", "window-end", "all-hung-up"


# ----------------------------------------------------------------------------- the bridge process


@dataclass(frozen=True)
class BridgeProcess:
    realtime_http: str
    realtime_ws: str
    api_key: str
    calls: int
    core: int | None  # pinned here: a spawned child inherits the parent's (load) pinning


def serve_bridge(spec: BridgeProcess, control: Connection) -> None:
    if spec.core is not None:
        os.sched_setaffinity(0, {spec.core})
    uvloop.run(_serve_bridge(spec, control))


class CountingJournal:
    """A journal that keeps nothing, like a real one whose rows are in the database: an in-memory one
    would grow the heap for the whole run and lengthen the garbage collector's pauses."""

    def __init__(self, totals: dict[str, int]) -> None:
        self._totals = totals

    async def record_transcript_line(self, call: CallContext, line: TranscriptLine) -> None:
        self._totals["transcript_lines"] += 1

    async def record_event(self, call: CallContext, entry: EventLogEntry) -> None:
        self._totals["logged_events"] += 1


async def _serve_bridge(spec: BridgeProcess, control: Connection) -> None:
    client = AsyncOpenAI(
        api_key=spec.api_key, base_url=spec.realtime_http, websocket_base_url=spec.realtime_ws
    )
    connector = RealtimeConnector(client, RealtimeSessionConfig(instructions="You are a bench bot."))
    tools = ScriptedToolBackend()
    totals: dict[str, int] = defaultdict(int)
    journal = CountingJournal(totals)
    all_ended = asyncio.Event()

    async def on_stream(websocket: WebSocket, start: TwilioStreamStart) -> None:
        bridge = CallBridge(CallContext(call_id=uuid4(), lead_id=uuid4()), connector, tools, journal)
        summary = await bridge.run(websocket, start)
        totals["calls"] += 1
        totals["caller_frames_dropped"] += summary.counters.caller_frames_dropped
        totals["barge_ins"] += summary.counters.barge_ins
        totals["reconnects"] += summary.counters.realtime_reconnects
        if totals["calls"] == spec.calls:
            all_ended.set()

    # What the service should do once started: move the ~120k objects of imported modules (openai,
    # pydantic, starlette) out of the collector's reach, or every full collection walks them all.
    assert client.realtime is not None  # imports the lazily loaded realtime resources first
    gc.collect()
    gc.freeze()

    async with MediaStreamHarness(on_stream) as harness:
        control.send(harness.url)
        assert await asyncio.to_thread(control.recv) == WINDOW_START
        lags: list[float] = []
        monitor = asyncio.create_task(measure_loop_lag(lags))
        assert await asyncio.to_thread(control.recv) == WINDOW_END
        monitor.cancel()
        assert await asyncio.to_thread(control.recv) == ALL_HUNG_UP
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await all_ended.wait()  # the last summaries are still being written
        control.send((dict(totals), lags))


async def measure_loop_lag(lags: list[float]) -> None:
    """How late a timer fires: the time any ready event waits for this process's event loop."""
    while True:
        due = time.monotonic() + LAG_PROBE_S
        await asyncio.sleep(LAG_PROBE_S)
        lags.append((time.monotonic() - due) * 1000)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


# ----------------------------------------------------------------------------- the load side


@dataclass
class Measurements:
    sent_at: dict[int, float] = field(default_factory=dict)  # tag -> when a fake sent it
    inbound_ms: list[float] = field(default_factory=list)
    outbound_ms: list[float] = field(default_factory=list)
    barge_in_ms: list[float] = field(default_factory=list)
    frames_sent: int = 0
    frames_appended: int = 0
    chunks_sent: int = 0
    chunks_played: int = 0
    speech_started_at: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    clears_at: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    call_of_session: dict[int, int] = field(default_factory=dict)


class Load:
    """The fakes' side of N calls: Twilio for each call, and the Realtime server they all share."""

    def __init__(self, calls: int, seconds: float) -> None:
        self.calls, self.seconds = calls, seconds
        self.m = Measurements()
        self._tags = iter(range(1, 1 << 62))
        self._stopping = False
        self.server = FakeRealtimeServer(
            record_audio=False,
            default_reply=self._bot_answer,
            on_audio_append=self._on_append,
            on_session=lambda session: self._drivers.append(asyncio.create_task(self._drive(session))),
        )
        self._drivers: list[asyncio.Task[None]] = []
        self._rss_samples: list[int] = []
        self.load_lags: list[float] = []
        self._call_known: dict[int, asyncio.Event] = {}
        self._random = random.Random(7)

    def _bot_answer(self) -> AudioReply:
        def tag_chunk(_: int) -> int:
            tag = next(self._tags)
            self.m.sent_at[tag] = time.monotonic()
            self.m.chunks_sent += 1
            return tag

        return AudioReply(
            "Here is what I found.",
            audio_ms=BOT_AUDIO_MS,
            chunk_ms=BOT_CHUNK_MS,
            chunk_interval_s=BOT_CHUNK_INTERVAL_S,
            chunk_tag=tag_chunk,
        )

    def _on_append(self, session: FakeRealtimeSession, payload: str) -> None:
        tag = tag_of(payload)
        self.m.inbound_ms.append((time.monotonic() - self.m.sent_at.pop(tag)) * 1000)
        self.m.frames_appended += 1
        if id(session) not in self.m.call_of_session:
            self.m.call_of_session[id(session)] = tag >> CALL_INDEX_SHIFT
            self._call_known.setdefault(id(session), asyncio.Event()).set()

    async def _drive(self, session: FakeRealtimeSession) -> None:
        """Answer, caller barges in, talks, answer again. Timings are random per turn so the calls are as
        independent as real ones (in lockstep, every bot would answer in the same instant)."""
        await session.wait_for("response.create", timeout=60)
        known = self._call_known.setdefault(id(session), asyncio.Event())
        await known.wait()  # the call index comes with the call's first caller frame
        call = self.m.call_of_session[id(session)]
        await asyncio.sleep(self._random.uniform(0, 1))
        while not self._stopping:
            await asyncio.sleep(self._random.uniform(*BARGE_IN_AFTER_S))
            if self._stopping or session.closed.is_set():
                return
            # The answer is generated faster than real time, so it is complete (and still playing at
            # Twilio) by now; chunks arriving after speech_started would be dropped by design.
            await session.response_finished(timeout=60)
            self.m.speech_started_at[call].append(time.monotonic())
            item_id = await session.speech_started()
            await asyncio.sleep(self._random.uniform(*CALLER_TALKS_S))
            if self._stopping or session.closed.is_set():
                return
            await session.finish_user_turn(item_id, "Tell me more.")

    def _on_twilio_message(self, call: int, message: dict[str, Any], arrived: float) -> None:
        kind = message.get("event")
        if kind == "media":
            tag = tag_of(message["media"]["payload"])
            self.m.outbound_ms.append((arrived - self.m.sent_at.pop(tag)) * 1000)
            self.m.chunks_played += 1
        elif kind == "clear":
            self.m.clears_at[call].append(arrived)

    async def _caller(self, call: int, client: FakeTwilioMediaClient, until: float) -> None:
        # Real calls are not phase-aligned: spread the callers' 20 ms frame clocks over the frame period.
        next_at = time.monotonic() + FRAME_S * call / self.calls
        await asyncio.sleep(next_at - time.monotonic())
        sequence = 0
        while next_at < until:
            sequence += 1
            tag = (call << CALL_INDEX_SHIFT) | sequence
            self.m.sent_at[tag] = time.monotonic()
            await client.send_frame(mulaw_frame(tag))
            self.m.frames_sent += 1
            next_at += FRAME_S
            await asyncio.sleep(max(next_at - time.monotonic(), 0))

    async def run(self, media_url: str, bridge_pid: int, control: Connection) -> dict[str, float]:
        clients = [
            FakeTwilioMediaClient(
                media_url,
                custom_parameters={"token": f"bench-{call}"},
                playback="realtime",
                record=False,
                on_message=functools.partial(self._on_twilio_message, call),
            )
            for call in range(self.calls)
        ]
        rss_before = rss_bytes(bridge_pid)
        for client in clients:
            await client.connect()
        await asyncio.sleep(0.5)  # every call's Realtime session is open and greeting
        control.send(WINDOW_START)
        cpu_before, wall_before = cpu_seconds(bridge_pid), time.monotonic()
        load_cpu_before = time.process_time()
        until = wall_before + self.seconds
        sampler = asyncio.create_task(self._sample_rss(bridge_pid))
        monitor = asyncio.create_task(measure_loop_lag(self.load_lags))
        await asyncio.gather(*(self._caller(call, client, until) for call, client in enumerate(clients)))
        cpu, wall = cpu_seconds(bridge_pid) - cpu_before, time.monotonic() - wall_before
        load_cpu = time.process_time() - load_cpu_before
        control.send(WINDOW_END)
        monitor.cancel()
        self._stopping = True
        await asyncio.sleep(0.5)  # frames and chunks in flight arrive
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
        await asyncio.gather(*(client.stop(timeout=30) for client in clients))
        await asyncio.gather(*self._drivers, return_exceptions=True)
        for call, clears in self.m.clears_at.items():
            started = self.m.speech_started_at[call]
            for clear in clears:  # each clear answers the latest speech_started before it
                spoke = max((t for t in started if t <= clear), default=None)
                if spoke is not None:
                    self.m.barge_in_ms.append((clear - spoke) * 1000)
        rss_per_call = (max(self._rss_samples) - rss_before) / self.calls
        return {"cpu_s": cpu, "wall_s": wall, "rss_per_call": rss_per_call, "load_cpu_s": load_cpu}

    async def _sample_rss(self, pid: int) -> None:
        while True:
            self._rss_samples.append(rss_bytes(pid))
            await asyncio.sleep(0.25)


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run_level(calls: int, seconds: float) -> dict[str, Any]:
    load = Load(calls, seconds)
    async with load.server:
        spawn = multiprocessing.get_context("spawn")
        parent_end, child_end = spawn.Pipe()
        bridge = spawn.Process(
            target=serve_bridge,
            args=(
                BridgeProcess(
                    load.server.http_base_url,
                    load.server.websocket_base_url,
                    load.server.api_key,
                    calls,
                    BRIDGE_CORE if TWO_CORES else None,
                ),
                child_end,
            ),
        )
        bridge.start()
        try:
            media_url = await asyncio.to_thread(parent_end.recv)
            assert bridge.pid is not None
            usage = await load.run(media_url, bridge.pid, parent_end)
            parent_end.send(ALL_HUNG_UP)
            bridge_totals, bridge_lags = await asyncio.to_thread(parent_end.recv)
        finally:
            bridge.join(timeout=10)
            if bridge.is_alive():
                bridge.kill()
    m = load.m
    return {
        "calls": calls,
        "in_p50": percentile(m.inbound_ms, 50),
        "in_p99": percentile(m.inbound_ms, 99),
        "out_p50": percentile(m.outbound_ms, 50),
        "out_p99": percentile(m.outbound_ms, 99),
        "barge_p50": percentile(m.barge_in_ms, 50),
        "barge_p99": percentile(m.barge_in_ms, 99),
        "barge_ins": len(m.barge_in_ms),
        "cpu_per_call": usage["cpu_s"] / calls,
        "core_share": usage["cpu_s"] / usage["wall_s"],
        "load_core_share": usage["load_cpu_s"] / usage["wall_s"],
        "rss_per_call_mb": usage["rss_per_call"] / 2**20,
        "frames": m.frames_sent,
        "dropped_in": m.frames_sent - m.frames_appended,
        "chunks": m.chunks_sent,
        "dropped_out": m.chunks_sent - m.chunks_played,
        "bridge": bridge_totals,
        "bridge_lag_p99": percentile(bridge_lags, 99),
        "load_lag_p99": percentile(load.load_lags, 99),
        # Other work on the host competes for both cores; the 1-minute load average says how much.
        "host_load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each call's measured part")
    args = parser.parse_args()
    if TWO_CORES:
        os.sched_setaffinity(0, {LOAD_CORE})
    else:
        print("warning: one CPU only; the fakes share the bridge's core and inflate every figure")

    rows = [uvloop.run(run_level(calls, args.seconds)) for calls in args.calls]

    print(f"\nvoice bridge, {args.seconds:g} s calls, bridge pinned to one core (uvicorn + uvloop)\n")
    header = (
        f"{'calls':>5} | {'in p50':>7} {'in p99':>7} | {'out p50':>7} {'out p99':>7} | "
        f"{'barge p50':>9} {'barge p99':>9} | {'CPU s/call':>10} {'core':>5} | {'RSS MB/call':>11} | "
        f"{'dropped in':>10} {'dropped out':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['calls']:>5} | {r['in_p50']:>5.2f}ms {r['in_p99']:>5.2f}ms | {r['out_p50']:>5.2f}ms {r['out_p99']:>5.2f}ms | "
            f"{r['barge_p50']:>7.2f}ms {r['barge_p99']:>7.2f}ms | {r['cpu_per_call']:>10.3f} {r['core_share']:>5.0%} | "
            f"{r['rss_per_call_mb']:>11.2f} | {r['dropped_in']:>4}/{r['frames']:<5} {r['dropped_out']:>5}/{r['chunks']:<5}"
        )
    print(
        "\nin = caller frame -> input_audio_buffer.append; out = Realtime delta -> Twilio media; "
        "barge = speech_started -> clear.\nLatencies are fake-to-fake over loopback (two hops plus the fakes' "
        "scheduling), i.e. an upper bound on what the bridge adds."
    )
    for r in rows:
        print(
            f"{r['calls']} calls: bridge counters {r['bridge']}; barge-ins measured {r['barge_ins']}; "
            f"the fakes used {r['load_core_share']:.0%} of their core; event-loop lag p99 bridge "
            f"{r['bridge_lag_p99']:.1f} ms, fakes {r['load_lag_p99']:.1f} ms; host load average "
            f"{r['host_load']:.1f} on {os.cpu_count()} CPUs"
        )


if __name__ == "__main__":
    main()
