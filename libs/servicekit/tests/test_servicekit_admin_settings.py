"""Admin settings from the gateway over a real NATS server: a responder registered the way the gateway
registers its own (`Bus.respond`), a caller on another connection."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nats.aio.msg import Msg
from parley_contracts import RPC_GATEWAY_SETTINGS, GatewaySettingsReply, GatewaySettingsRequest
from pydantic import SecretStr
from servicekit.admin_settings import (
    CachedAdminSettings,
    TextModelConfig,
    TextModelSource,
    read_admin_settings,
)
from servicekit.bus import Bus

pytestmark = pytest.mark.integration

KEY = "sk-admin-0123456789abcdef"
LOGGER = "servicekit.admin_settings"


class FakeGateway:
    """Answers `RPC_GATEWAY_SETTINGS` from `values` (as the gateway does: the keys asked for), counting
    the requests."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.requests: list[GatewaySettingsRequest] = []

    async def resolve(self, request: GatewaySettingsRequest) -> GatewaySettingsReply:
        self.requests.append(request)
        return GatewaySettingsReply(
            values={k: v for k, v in self.values.items() if not request.keys or k in request.keys}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def make_bus(nats_url: str, bus_namespace: str) -> AsyncIterator[Callable[..., Awaitable[Bus]]]:
    buses: list[Bus] = []

    async def make(service: str, gateway: FakeGateway | None = None) -> Bus:
        bus = Bus(nats_url, service=service, namespace=bus_namespace)
        buses.append(bus)
        if gateway is not None:
            bus.respond(RPC_GATEWAY_SETTINGS, GatewaySettingsRequest, gateway.resolve)
            await bus.start()
        else:
            await bus.connect()
        return bus

    yield make
    for bus in buses:
        await bus.close()


def source(bus: Bus | None, clock: Clock, api_key: str | None = None) -> TextModelSource:
    return TextModelSource(
        bus,
        api_key=SecretStr(api_key) if api_key is not None else None,
        model="gpt-4o-mini",
        base_url=None,
        cache_seconds=30,
        timeout=2,
        clock=clock,
    )


async def test_read_admin_settings_returns_the_values_set_among_the_keys(make_bus) -> None:
    gateway = FakeGateway(
        {"smtp_host": "smtp.example.com", "smtp_port": 587, "smtp_username": None, "email_from": "", "x": 1}
    )
    await make_bus("gateway", gateway)
    caller = await make_bus("mailer")
    values = await read_admin_settings(caller, ["smtp_host", "smtp_port", "smtp_username", "email_from"], 2)
    assert values == {"smtp_host": "smtp.example.com", "smtp_port": 587}  # unset and empty left out
    assert [r.keys for r in gateway.requests] == [["smtp_host", "smtp_port", "smtp_username", "email_from"]]


async def test_the_env_key_wins_and_the_gateway_is_not_asked(make_bus) -> None:
    gateway = FakeGateway({"openai_api_key": KEY, "openai_text_model": "gpt-4.1"})
    await make_bus("gateway", gateway)
    caller = await make_bus("rag")
    config = await source(caller, Clock(), api_key="sk-env").config()
    assert config == TextModelConfig(SecretStr("sk-env"), "gpt-4o-mini", None, "env")
    assert gateway.requests == []


async def test_the_admins_key_is_used_and_cached(make_bus) -> None:
    gateway = FakeGateway(
        {
            "openai_api_key": KEY,
            "openai_base_url": "http://127.0.0.1:9/v1",
            "openai_text_model": "gpt-4.1",
            "smtp_password": "not asked for",
        }
    )
    await make_bus("gateway", gateway)
    caller = await make_bus("rag")
    clock = Clock()
    models = source(caller, clock)
    expected = TextModelConfig(SecretStr(KEY), "gpt-4.1", "http://127.0.0.1:9/v1", "gateway")
    assert await models.config() == expected
    assert [r.keys for r in gateway.requests] == [["openai_api_key", "openai_base_url", "openai_text_model"]]

    clock.now += 29
    gateway.values["openai_text_model"] = "gpt-5"
    assert await models.config() == expected  # still cached
    assert len(gateway.requests) == 1

    clock.now += 1
    assert (await models.config()) == TextModelConfig(
        SecretStr(KEY), "gpt-5", "http://127.0.0.1:9/v1", "gateway"
    )
    assert len(gateway.requests) == 2

    # An admin clears the key: offline after the next read; model and base URL fall back to the service's.
    gateway.values = {"openai_api_key": None, "openai_base_url": None}
    clock.now += 30
    assert await models.config() is None
    gateway.values = {"openai_api_key": KEY}
    clock.now += 30
    assert await models.config() == TextModelConfig(SecretStr(KEY), "gpt-4o-mini", None, "gateway")


async def test_concurrent_readers_share_one_request(make_bus) -> None:
    gateway = FakeGateway({"company_name": "Acme"})
    await make_bus("gateway", gateway)
    caller = await make_bus("prospectus")
    cached = CachedAdminSettings(caller, ["company_name"], timeout=2, cache_seconds=30)
    results = await asyncio.gather(*(cached.read() for _ in range(5)))
    assert results == [{"company_name": "Acme"}] * 5
    assert len(gateway.requests) == 1
    cached.forget()
    await cached.read()
    assert len(gateway.requests) == 2


async def test_no_gateway_means_none_quickly_and_is_logged_once(make_bus, caplog) -> None:
    caller = await make_bus("rag")  # nobody answers the subject
    clock = Clock()
    models = source(caller, clock)
    caplog.set_level(logging.INFO, logger=LOGGER)
    started = time.monotonic()
    assert await models.config() is None
    assert time.monotonic() - started < 1.0  # no responders: NATS says so at once, no timeout waited
    assert await models.config() is None  # the absence is cached too
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    assert "unavailable" in records[0].getMessage() and "offline text AI" in records[0].getMessage()

    assert await read_admin_settings(None, ["company_name"], 2) is None  # no bus at all


async def test_a_bus_not_connected_yet_is_asked_again_once_it_is(make_bus, nats_url, bus_namespace) -> None:
    gateway = FakeGateway({"company_name": "Acme"})
    await make_bus("gateway", gateway)
    # Start-up hooks run before the service's bus starts: no answer then, and none remembered.
    bus = Bus(nats_url, service="prospectus", namespace=bus_namespace)
    cached = CachedAdminSettings(bus, ["company_name"], timeout=2, cache_seconds=30)
    assert await cached.read() is None
    await bus.connect()
    try:
        assert await cached.read() == {"company_name": "Acme"}
    finally:
        await bus.close()


async def test_a_silent_gateway_costs_one_timeout(make_bus) -> None:
    caller = await make_bus("prospectus")
    asked: list[bytes] = []

    async def silent(msg: Msg) -> None:
        asked.append(msg.data)

    await caller.nc.subscribe(caller.subject(RPC_GATEWAY_SETTINGS), cb=silent)
    started = time.monotonic()
    assert await read_admin_settings(caller, ["company_name"], 0.3) is None
    assert 0.25 < time.monotonic() - started < 2.0
    assert json.loads(asked[0]) == {"keys": ["company_name"]}


@pytest.mark.parametrize(
    "answer",
    [
        b'{"error": "OperationalError: database is locked"}',
        b'{"values": ["openai_api_key"]}',
        b"not json",
    ],
)
async def test_an_unreadable_answer_means_none_with_a_warning(make_bus, caplog, answer: bytes) -> None:
    caller = await make_bus("rag")

    async def broken(msg: Msg) -> None:
        await msg.respond(answer)

    await caller.nc.subscribe(caller.subject(RPC_GATEWAY_SETTINGS), cb=broken)
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert await source(caller, Clock()).config() is None
    [record] = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING and "unreadable" in record.getMessage()


async def test_a_failing_gateway_handler_means_none(make_bus) -> None:
    class Failing(FakeGateway):
        async def resolve(self, request: GatewaySettingsRequest) -> GatewaySettingsReply:
            raise RuntimeError("the settings table is gone")

    await make_bus("gateway", Failing({}))
    caller = await make_bus("mailer")
    assert await read_admin_settings(caller, ["smtp_host"], 2) is None
