"""The delivery guarantees, proven against a real NATS JetStream server and a real database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from parley_contracts import LeadCreated, LeadSnapshot
from prometheus_client import REGISTRY
from servicekit.bus import wait_for
from servicekit.runtime import ServiceRuntime
from servicekit.testing import sample_service as sample
from servicekit.tracing import configure_tracing, tracer

pytestmark = pytest.mark.integration


def lead_created(name: str) -> LeadCreated:
    return LeadCreated(lead=LeadSnapshot(id=uuid.uuid4(), name=name, phone="+14155550100"))


@pytest.fixture
async def sample_env(make_database, nats_url, bus_namespace):
    url = await make_database("sample")
    await sample.create_tables(url)
    env = {
        "DATABASE_URL": url,
        "NATS_URL": nats_url,
        "BUS_NAMESPACE": bus_namespace,
        "BUS_MAX_DELIVER": "3",
        "BUS_BACKOFF_SECONDS": "[0.05, 0.05]",
        "BUS_ACK_WAIT_SECONDS": "2",
        "OUTBOX_POLL_SECONDS": "0.05",
    }
    return env


def make_runtime(env: dict[str, str], monkeypatch, **overrides: str) -> ServiceRuntime:
    for key, value in {**env, **overrides}.items():
        monkeypatch.setenv(key, value)
    return ServiceRuntime(sample.definition, sample.SampleSettings())


async def effect_count(runtime: ServiceRuntime, name: str | None = None) -> int:
    async with runtime.db.session() as session:
        query = sa.select(sa.func.count()).select_from(sample.effects)
        if name:
            query = query.where(sample.effects.c.lead_name == name)
        return int(await session.scalar(query) or 0)


async def publish_via_outbox(runtime: ServiceRuntime, *events: LeadCreated) -> None:
    async with runtime.unit_of_work() as uow:
        for event in events:
            await uow.emit(event)


async def test_an_event_published_twice_has_one_effect(sample_env, monkeypatch):
    runtime = make_runtime(sample_env, monkeypatch)
    await runtime.start()
    try:
        event = lead_created("twice")
        await publish_via_outbox(runtime, event)
        assert await wait_for(lambda: _outbox_empty(runtime))
        # Same Nats-Msg-Id inside the duplicate window: JetStream drops it.
        ack = await runtime.bus.publish_now(event)
        assert ack.duplicate
        # A re-publish JetStream cannot recognise (new msg id, e.g. after the window): the inbox stops it.
        await runtime.bus.publish_raw(
            event.subject, event.to_json(), {"Nats-Msg-Id": f"again-{event.event_id}"}
        )
        marker = lead_created("marker")
        await runtime.bus.publish_now(marker)
        assert await wait_for(lambda: _has(runtime, "marker"))
        assert await effect_count(runtime, "twice") == 1
    finally:
        await runtime.stop()


async def _outbox_empty(runtime: ServiceRuntime) -> bool:
    return await runtime.relay.pending_count() == 0


async def _has(runtime: ServiceRuntime, name: str) -> bool:
    return await effect_count(runtime, name) > 0


async def test_a_failing_message_is_dead_lettered_while_the_consumer_goes_on(sample_env, monkeypatch):
    runtime = make_runtime(sample_env, monkeypatch)
    await runtime.start()
    try:
        poison, healthy = lead_created("poison-1"), lead_created("healthy-after-poison")
        await publish_via_outbox(runtime, poison, healthy)
        assert await wait_for(lambda: _has(runtime, "healthy-after-poison"))
        js = runtime.bus.js
        dlq_subject = runtime.bus.subject(f"dlq.sample-effects.{poison.subject}")

        async def dead_lettered() -> bool:
            try:
                await js.get_last_msg(runtime.bus.stream_name("dlq.x"), dlq_subject)
                return True
            except Exception:
                return False

        assert await wait_for(dead_lettered, timeout=15)
        stored = await js.get_last_msg(runtime.bus.stream_name("dlq.x"), dlq_subject)
        assert LeadCreated.model_validate_json(stored.data).event_id == poison.event_id
        assert stored.headers["Parley-Consumer"] == "sample-effects"
        assert "cannot handle poison-1" in stored.headers["Parley-Error"]
        assert await effect_count(runtime, "poison-1") == 0
        # The consumer is still alive after giving up on the poison message.
        await publish_via_outbox(runtime, lead_created("still-alive"))
        assert await wait_for(lambda: _has(runtime, "still-alive"))
    finally:
        await runtime.stop()


async def test_replay_reruns_a_handler_without_double_effects(sample_env, monkeypatch):
    runtime = make_runtime(sample_env, monkeypatch)
    await runtime.start()
    events = [lead_created(f"replayed-{i}") for i in range(5)]
    poison = lead_created("poison-fixable")
    try:
        await publish_via_outbox(runtime, *events, poison)
        assert await wait_for(lambda: _count_is(runtime, 5))
        dlq_stream = runtime.bus.stream_name("dlq.x")

        async def poison_dead_lettered() -> bool:
            info = await runtime.bus.js.stream_info(dlq_stream)
            return info.state.messages >= 1

        assert await wait_for(poison_dead_lettered, timeout=15)
    finally:
        await runtime.stop()

    # A replay with a fresh consumer over everything: the handled events are no-ops.
    replayer = make_runtime(sample_env, monkeypatch)
    handler = sample.definition.handlers(replayer)[0]
    await replayer.bus.connect()
    try:
        report = await replayer.bus.replay(handler, from_seq=1)
        assert report.seen == 6 and report.handled == 0 and report.duplicates == 5 and report.failed == 1
        assert report.consumer.startswith("replay-sample-effects-")
        assert await effect_count(replayer) == 5
    finally:
        await replayer.bus.close()
        await replayer.db.dispose()

    # After "the fix", replaying the dead-letter stream applies the poison event exactly once.
    fixed = make_runtime(sample_env, monkeypatch, POISON_FIXED="true")
    handler = sample.definition.handlers(fixed)[0]
    await fixed.bus.connect()
    try:
        dlq_subject = f"dlq.sample-effects.{poison.subject}"
        first = await fixed.bus.replay(handler, bare_subject=dlq_subject)
        again = await fixed.bus.replay(handler, bare_subject=dlq_subject)
        assert (first.handled, again.handled, again.duplicates) == (1, 0, 1)
        assert await effect_count(fixed, "poison-fixable") == 1
    finally:
        await fixed.bus.close()
        await fixed.db.dispose()


async def _count_is(runtime: ServiceRuntime, expected: int) -> bool:
    return await effect_count(runtime) >= expected


async def test_a_consumer_killed_mid_batch_loses_nothing_and_duplicates_nothing(sample_env, monkeypatch):
    producer = make_runtime(sample_env, monkeypatch)
    await producer.bus.connect()
    producer.relay.start()
    total = 120
    try:
        await publish_via_outbox(producer, *[lead_created(f"bulk-{i}") for i in range(total)])
        env = {**os.environ, **sample_env, "HANDLER_DELAY_SECONDS": "0.02", "LOG_LEVEL": "WARNING"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "servicekit.testing.sample_service"], env=env, stdout=subprocess.PIPE
        )
        try:
            assert await wait_for(lambda: _count_is(producer, 15), timeout=30)
            worker.send_signal(signal.SIGKILL)  # no graceful shutdown: in-flight messages stay unacked
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        done_at_kill = await effect_count(producer)
        assert done_at_kill < total, "the worker finished before it could be killed mid-batch"

        restarted = make_runtime(sample_env, monkeypatch)
        await restarted.start()
        try:
            assert await wait_for(lambda: _count_is(restarted, total), timeout=40)
            await asyncio.sleep(2.5)  # past ack_wait: any redelivery would have landed by now
            async with restarted.db.session() as session:
                rows = (await session.execute(sa.select(sample.effects.c.event_id))).scalars().all()
            assert len(rows) == total and len(set(rows)) == total
        finally:
            await restarted.stop()
    finally:
        await producer.relay.stop()
        await producer.bus.close()
        await producer.db.dispose()


def consumed(result: str) -> float:
    labels = {"service": "sample", "consumer": "sample-effects", "result": result}
    return REGISTRY.get_sample_value("parley_events_consumed_total", labels) or 0.0


async def test_a_burst_on_sqlite_does_not_fill_the_pool_with_writers_waiting_for_the_lock(
    sample_env, monkeypatch, tmp_path
):
    # SQLite has one writer. Handlers of a pulled batch used to run their transactions all at once:
    # the pool filled with handlers waiting for the write lock, and the one holding it, wanting a
    # second connection, waited for the pool (30 s timeouts, "database is locked"). By default a
    # SQLite service now runs one handler transaction at a time.
    url = f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}"
    await sample.create_tables(url)
    runtime = make_runtime(sample_env, monkeypatch, DATABASE_URL=url, HANDLER_NESTED_READ="true")
    assert runtime.bus.handler_concurrency == 1
    await runtime.start()
    try:
        failed = consumed("retried") + consumed("dead_lettered")
        await asyncio.gather(*(runtime.bus.publish_now(lead_created(f"burst-{i}")) for i in range(48)))
        assert await wait_for(lambda: _count_is(runtime, 48), timeout=20)
        assert consumed("retried") + consumed("dead_lettered") == failed
    finally:
        await runtime.stop()


async def test_messages_waiting_for_a_handler_slot_are_not_redelivered_to_another_replica(
    sample_env, monkeypatch, tmp_path
):
    # One slot, 0.25 s per handler: the end of a pulled batch of 16 waits about 4 s for its slot,
    # twice `ack_wait` (2 s). JetStream is told those messages are in progress, so it does not hand
    # them to an idle second replica too. Each replica has a database of its own (no shared inbox, no
    # shared lock): a message handled by both would be one effect too many.
    replicas = []
    for n in range(2):
        url = f"sqlite+aiosqlite:///{tmp_path / f'replica-{n}.db'}"
        await sample.create_tables(url)
        overrides = {"DATABASE_URL": url, "BUS_HANDLER_CONCURRENCY": "1", "HANDLER_DELAY_SECONDS": "0.25"}
        replicas.append(make_runtime(sample_env, monkeypatch, **overrides))
    busy, idle = replicas

    async def effects() -> int:
        return sum([await effect_count(replica) for replica in replicas])

    await busy.start()
    try:
        failed = consumed("retried") + consumed("dead_lettered")
        await asyncio.gather(*(busy.bus.publish_now(lead_created(f"queued-{i}")) for i in range(16)))
        assert await wait_for(lambda: _count_is(busy, 1), timeout=10)  # the batch is being worked on
        await idle.start()
        assert await wait_for(lambda: _at_least(effects, 16), timeout=20)
        await asyncio.sleep(2.5)  # past ack_wait: a redelivery would have been handled by now
        # Some may have gone to the idle replica first-hand (a short first batch); none to both.
        assert await effects() == 16
        assert consumed("retried") + consumed("dead_lettered") == failed
    finally:
        for replica in replicas:
            await replica.stop()


async def _at_least(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected


async def test_trace_context_crosses_nats(sample_env, monkeypatch):
    exporter = InMemorySpanExporter()
    configure_tracing("sample", extra=exporter)
    runtime = make_runtime(sample_env, monkeypatch)
    await runtime.start()
    try:
        with tracer().start_as_current_span("create lead") as producer_span:
            await publish_via_outbox(runtime, lead_created("traced"))
        assert await wait_for(lambda: _has(runtime, "traced"))
        trace_id = producer_span.get_span_context().trace_id

        def consumer_spans():
            return [s for s in exporter.get_finished_spans() if s.name == "consume lead.created"]

        assert await wait_for(lambda: _async(bool(consumer_spans())))
        assert any(s.context.trace_id == trace_id for s in consumer_spans())
    finally:
        await runtime.stop()


async def _async(value: bool) -> bool:
    return value
