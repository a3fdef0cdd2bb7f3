"""The event bus: FastStream `NatsBroker` durable pull consumers with explicit acks, bounded
redelivery with backoff, a dead-letter stream, request/reply, and replay with a fresh consumer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import nats
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NotFoundError
from opentelemetry import trace
from parley_contracts import STREAMS, Event, stream_for
from pydantic import BaseModel, ValidationError

from .db import Database
from .messaging import Handler, Inbox, OutboxRelay, UnitOfWork, WriteStep
from .metrics import EVENTS_CONSUMED
from .tracing import extract_context, tracer

log = logging.getLogger("servicekit.bus")

DLQ_PREFIX = "dlq"


@dataclass
class ReplayReport:
    consumer: str
    seen: int = 0
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Bus:
    def __init__(
        self,
        url: str,
        *,
        service: str,
        namespace: str,
        max_deliver: int = 5,
        backoff_seconds: list[float] | None = None,
        ack_wait_seconds: float = 30.0,
        handler_concurrency: int | None = None,
    ) -> None:
        self.url = url
        self.service = service
        self.namespace = namespace
        self.max_deliver = max_deliver
        self.backoff_seconds = backoff_seconds or [1.0, 5.0, 15.0, 60.0]
        self.ack_wait_seconds = ack_wait_seconds
        # Handlers in their transaction at once, across every consumer (None: no limit). FastStream
        # runs each pulled batch (up to 16 messages per consumer) concurrently.
        self.handler_concurrency = handler_concurrency
        self._handler_slots: asyncio.Semaphore | None = None
        self.broker = NatsBroker(url, logger=logging.getLogger(f"faststream.{service}"))
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._db: Database | None = None
        self._inbox: Inbox | None = None
        self._relay: OutboxRelay | None = None
        self._started = False

    # -- naming -----------------------------------------------------------------------------

    def subject(self, bare: str) -> str:
        return f"{self.namespace}.{bare}" if self.namespace else bare

    def bare_subject(self, subject: str) -> str:
        prefix = f"{self.namespace}."
        return subject[len(prefix) :] if self.namespace and subject.startswith(prefix) else subject

    def stream_name(self, bare_subject: str) -> str:
        base = stream_for(bare_subject).name
        ns = self.namespace.upper().replace(".", "_").replace("-", "_")
        return f"{ns}_{base}" if ns else base

    # -- lifecycle --------------------------------------------------------------------------

    def bind_storage(self, db: Database, inbox: Inbox, relay: OutboxRelay | None) -> None:
        self._db, self._inbox, self._relay = db, inbox, relay

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("bus is not connected")
        return self._js

    @property
    def nc(self) -> NatsClient:
        if self._nc is None:
            raise RuntimeError("bus is not connected")
        return self._nc

    async def connect(self) -> None:
        if self._nc is None:
            self._nc = await nats.connect(
                self.url, name=f"{self.service}-publisher", max_reconnect_attempts=-1
            )
            self._js = self._nc.jetstream()
            await self.ensure_streams()

    async def start(self) -> None:
        await self.connect()
        await self.broker.start()
        self._started = True

    async def close(self) -> None:
        if self._started:
            # Draining fails if NATS is already gone; unacked messages are redelivered anyway.
            try:
                await self.broker.stop()
            except Exception as exc:
                log.warning("broker did not drain cleanly: %s", exc)
            self._started = False
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
            self._nc, self._js = None, None

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def ensure_streams(self) -> None:
        for spec in STREAMS:
            config = js_api.StreamConfig(
                name=self.stream_name(spec.subjects[0].removesuffix(".>")),
                subjects=[self.subject(s) for s in spec.subjects],
                retention=js_api.RetentionPolicy.LIMITS,
                storage=js_api.StorageType.FILE,
                max_age=spec.max_age_seconds,
                duplicate_window=spec.duplicate_window_seconds,
            )
            try:
                await self.js.stream_info(config.name or "")
                await self.js.update_stream(config)
            except NotFoundError:
                await self.js.add_stream(config)

    # -- publishing -------------------------------------------------------------------------

    async def publish_raw(self, bare_subject: str, payload: bytes, headers: dict[str, str]) -> js_api.PubAck:
        return await self.js.publish(
            self.subject(bare_subject), payload, headers=headers, stream=self.stream_name(bare_subject)
        )

    async def publish_now(self, event: Event) -> js_api.PubAck:
        """Publish without an outbox: only for events with no local state change to go with."""
        from .tracing import inject_headers

        headers: dict[str, str] = {"Nats-Msg-Id": str(event.event_id), "Parley-Subject": event.subject}
        inject_headers(headers)
        return await self.publish_raw(event.subject, event.to_json(), headers)

    # -- consuming --------------------------------------------------------------------------

    def consume(self, handler: Handler[Any]) -> None:
        """Register a durable pull consumer. Call before `start()`."""
        bare = handler.event_type.subject
        subscriber = self.broker.subscriber(
            self.subject(bare),
            stream=JStream(name=self.stream_name(bare), declare=False),
            durable=handler.name,
            pull_sub=PullSub(batch_size=16, timeout=1.0),
            config=js_api.ConsumerConfig(
                ack_policy=js_api.AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait_seconds,
                # The handler dead-letters at `max_deliver`; the server limit is a margin above it so
                # a crash during the last attempt still gets one more delivery instead of a stuck message.
                max_deliver=self.max_deliver + 2,
                deliver_policy=js_api.DeliverPolicy.ALL,
            ),
            # FastStream's default would terminate a failing message; we ack/nak/dead-letter ourselves.
            ack_policy=AckPolicy.MANUAL,
        )

        async def on_message(message: NatsMessage) -> None:
            await self.process(handler, message.raw_message)

        subscriber(on_message)

    def respond(
        self,
        bare_subject: str,
        request_model: type[BaseModel],
        fn: Callable[[Any], Awaitable[BaseModel]],
    ) -> None:
        """Request/reply for answers needed now (not stored in a stream); a queue group shares load."""

        async def on_request(message: NatsMessage) -> bytes:
            try:
                request = request_model.model_validate_json(message.raw_message.data)
            except ValidationError as exc:
                return _rpc_error(f"invalid request: {exc.error_count()} error(s)", exc.errors())
            try:
                return (await fn(request)).model_dump_json().encode()
            except Exception as exc:
                log.exception("request handler for %s failed", bare_subject)
                return _rpc_error(f"{type(exc).__name__}: {exc}")

        self.broker.subscriber(self.subject(bare_subject), queue=self.service)(on_request)

    async def request(self, bare_subject: str, payload: BaseModel, timeout: float = 5.0) -> bytes:
        reply = await self.nc.request(
            self.subject(bare_subject), payload.model_dump_json().encode(), timeout=timeout
        )
        return reply.data

    async def process(self, handler: Handler[Any], msg: Msg) -> None:
        delivered = msg.metadata.num_delivered if msg.metadata else 1
        bare = self.bare_subject(msg.subject)
        try:
            event = handler.event_type.model_validate_json(msg.data)
        except ValidationError as exc:
            # A payload that can never parse will not get better by retrying.
            await self.dead_letter(handler, msg, f"invalid payload: {exc}")
            await msg.ack()
            return
        with tracer().start_as_current_span(
            f"consume {bare}",
            context=extract_context(msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination": bare,
                "parley.consumer": handler.name,
            },
        ):
            try:
                handled = await self.handle(handler, event, msg)
            except Exception as exc:
                if delivered >= self.max_deliver:
                    log.exception(
                        "%s gave up on %s after %d deliveries", handler.name, event.event_id, delivered
                    )
                    await self.dead_letter(handler, msg, f"{type(exc).__name__}: {exc}")
                    await msg.ack()
                    EVENTS_CONSUMED.labels(self.service, handler.name, "dead_lettered").inc()
                else:
                    delay = self.backoff_seconds[min(delivered - 1, len(self.backoff_seconds) - 1)]
                    log.warning(
                        "%s failed on %s (delivery %d), retrying in %.1fs: %s",
                        handler.name,
                        event.event_id,
                        delivered,
                        delay,
                        exc,
                    )
                    await msg.nak(delay=delay)
                    EVENTS_CONSUMED.labels(self.service, handler.name, "retried").inc()
                return
        await msg.ack()
        EVENTS_CONSUMED.labels(self.service, handler.name, "handled" if handled else "duplicate").inc()

    async def handle(self, handler: Handler[Any], event: Event, msg: Msg | None = None) -> bool:
        """Run the handler once per (consumer, event): False when it already ran.

        A two-step handler's `prepare` runs first, with no transaction open (an event already handled
        is skipped before it); then the inbox claim and the writes share one short transaction.
        """
        if self._db is None or self._inbox is None:
            raise RuntimeError("bus storage not bound; call bind_storage()")
        assert self._relay is not None
        write: WriteStep
        if handler.prepare is not None:
            async with self._db.session() as session:
                if await self._inbox.seen(session, handler.name, event):
                    return False
            write = await handler.prepare(event)
        else:
            write = partial(handler.fn, event)
        async with self._handler_slot(msg), self._db.transaction() as session:
            if not await self._inbox.claim(session, handler.name, event):
                return False
            await write(UnitOfWork(session, self._relay.outbox))
        self._relay.kick()
        return True

    @contextlib.asynccontextmanager
    async def _handler_slot(self, msg: Msg | None) -> AsyncIterator[None]:
        """One of `handler_concurrency` slots. While a message waits for one, JetStream is told it
        is in progress, so a queue behind the limit does not outlast `ack_wait` into redeliveries."""
        if self.handler_concurrency is None:
            yield
            return
        if self._handler_slots is None:
            self._handler_slots = asyncio.Semaphore(self.handler_concurrency)
        slots = self._handler_slots
        if not slots.locked():
            await slots.acquire()  # a free slot: taken without waiting
        else:
            acquire = asyncio.ensure_future(slots.acquire())
            try:
                while True:
                    # At once (the message may have waited in the fetched batch already), then again
                    # every third of ack_wait until a slot is free.
                    if msg is not None:
                        with contextlib.suppress(Exception):
                            await msg.in_progress()
                    done, _ = await asyncio.wait({acquire}, timeout=self.ack_wait_seconds / 3)
                    if done:
                        break
            except BaseException:
                # Cancelled while waiting: give back a slot that was granted meanwhile.
                if acquire.done() and not acquire.cancelled():
                    slots.release()
                else:
                    acquire.cancel()
                raise
        try:
            yield
        finally:
            slots.release()

    async def dead_letter(self, handler: Handler[Any], msg: Msg, reason: str) -> None:
        bare = self.bare_subject(msg.subject)
        headers = dict(msg.headers or {})
        seq = msg.metadata.sequence.stream if msg.metadata else 0
        headers.update(
            {
                "Nats-Msg-Id": f"dlq-{handler.name}-{headers.get('Nats-Msg-Id', seq)}",
                "Parley-Original-Subject": bare,
                "Parley-Consumer": handler.name,
                "Parley-Error": reason[:1000],
            }
        )
        dlq_bare = f"{DLQ_PREFIX}.{handler.name}.{bare}"
        await self.publish_raw(dlq_bare, msg.data, headers)
        log.error("dead-lettered %s from %s: %s", bare, handler.name, reason[:300])

    # -- replay -----------------------------------------------------------------------------

    async def replay(
        self,
        handler: Handler[Any],
        *,
        since: datetime | None = None,
        from_seq: int | None = None,
        bare_subject: str | None = None,
        idle_timeout: float = 1.0,
    ) -> ReplayReport:
        """Re-run `handler` over stored events with a fresh consumer. The inbox turns events already
        handled into no-ops, so replay only has effect where the first run did not (e.g. after a fix)."""
        bare = bare_subject or handler.event_type.subject
        name = f"replay-{handler.name}-{uuid.uuid4().hex[:8]}"
        extra: dict[str, Any] = {}
        if since is not None:
            policy, extra = js_api.DeliverPolicy.BY_START_TIME, {"opt_start_time": since.isoformat()}
        elif from_seq is not None:
            policy, extra = js_api.DeliverPolicy.BY_START_SEQUENCE, {"opt_start_seq": from_seq}
        else:
            policy = js_api.DeliverPolicy.ALL
        stream = self.stream_name(bare)
        config = js_api.ConsumerConfig(
            durable_name=name,
            deliver_policy=policy,
            ack_policy=js_api.AckPolicy.EXPLICIT,
            filter_subject=self.subject(bare),
            inactive_threshold=300,
            **extra,
        )
        await self.js.add_consumer(stream, config)
        subscription = await self.js.pull_subscribe_bind(name, stream=stream)
        report = ReplayReport(consumer=name)
        try:
            while True:
                try:
                    batch = await subscription.fetch(100, timeout=idle_timeout)
                except (TimeoutError, nats.errors.TimeoutError):
                    info = await self.js.consumer_info(stream, name)
                    if info.num_pending == 0:
                        break
                    continue
                for msg in batch:
                    report.seen += 1
                    try:
                        event = handler.event_type.model_validate_json(msg.data)
                        if await self.handle(handler, event):
                            report.handled += 1
                        else:
                            report.duplicates += 1
                    except Exception as exc:
                        report.failed += 1
                        report.errors.append(f"seq {msg.metadata.sequence.stream}: {exc}")
                    await msg.ack()
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(stream, name)
        return report


def _rpc_error(message: str, details: Any = None) -> bytes:
    import json

    return json.dumps({"error": message, "details": details}, default=str).encode()


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.05
) -> bool:
    """Poll an async predicate; used by the supervisor and tests waiting on eventual consistency."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await predicate():
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(interval)
