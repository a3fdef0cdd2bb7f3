from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from parley_contracts import Event, LeadCreated, LeadSnapshot
from servicekit.app import create_app
from servicekit.auth import Role
from servicekit.bus import wait_for
from servicekit.runtime import ServiceRuntime
from servicekit.testing.keys import KeyPair, mint_token
from servicekit.testing.plugin import running
from voice_bridge.main import definition
from voice_bridge.settings import VoiceBridgeSettings

ADMIN_ID = uuid.uuid4()
AGENT_ID = uuid.uuid4()
AGENT2_ID = uuid.uuid4()

E = TypeVar("E", bound=Event)
VoiceSettingsFactory = Callable[..., Awaitable[VoiceBridgeSettings]]


def lead_snapshot(**overrides: Any) -> LeadSnapshot:
    stamp = datetime.now(UTC)
    data: dict[str, Any] = {
        "id": uuid.uuid4(),
        "name": "John Smith",
        "phone": "+14155550123",
        "timezone": "America/New_York",
        "assigned_agent_id": AGENT_ID,
        "created_at": stamp,
        "updated_at": stamp,
    }
    data.update(overrides)
    return LeadSnapshot.model_validate(data)


@dataclass
class VoiceApp:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    keys: KeyPair

    def auth(self, user_id: uuid.UUID, role: Role = Role.AGENT) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.keys, user_id=user_id, role=role)}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(ADMIN_ID, Role.ADMIN)

    @property
    def agent(self) -> dict[str, str]:
        return self.auth(AGENT_ID)

    @property
    def agent2(self) -> dict[str, str]:
        return self.auth(AGENT2_ID)

    async def create_lead(self, **overrides: Any) -> LeadSnapshot:
        """Publish lead.created and wait until the bridge has projected it."""
        from voice_bridge.adapters import repository as repo

        lead = lead_snapshot(**overrides)
        await self.runtime.bus.publish_now(LeadCreated(lead=lead))

        async def projected() -> bool:
            async with self.runtime.db.session() as session:
                return await repo.get_lead(session, lead.id) is not None

        assert await wait_for(projected, timeout=15)
        return lead

    async def flushed(self) -> None:
        async def empty() -> bool:
            return await self.runtime.relay.pending_count() == 0

        assert await wait_for(empty, timeout=15)

    async def events(self, event_type: type[E]) -> list[E]:
        """Every event of this type in the namespace's stream, oldest first (outbox flushed first)."""
        await self.flushed()
        bus = self.runtime.bus
        stream = bus.stream_name(event_type.subject)
        subject = bus.subject(event_type.subject)
        info = await bus.js.stream_info(stream)
        found: list[E] = []
        if not info.state.messages:
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await bus.js.get_msg(stream, seq)
            if message.subject == subject and message.data is not None:
                found.append(event_type.model_validate_json(message.data))
        return found

    async def handled(self, *events: Event) -> None:
        from voice_bridge.adapters.tables import inbox

        ids = {str(event.event_id) for event in events}

        async def done() -> bool:
            async with self.runtime.db.session() as session:
                seen = await session.scalars(sa.select(inbox.c.event_id).where(inbox.c.event_id.in_(ids)))
                return set(seen) == ids

        assert await wait_for(done, timeout=15)


@pytest.fixture
async def voice_settings(make_database, nats_url, bus_namespace, jwt_keys) -> VoiceSettingsFactory:
    """Settings for a voice-bridge under test on its own database and bus namespace, fast polling."""

    async def make(**overrides: Any) -> VoiceBridgeSettings:
        defaults: dict[str, Any] = {
            "database_url": await make_database("voice"),
            "nats_url": nats_url,
            "bus_namespace": bus_namespace,
            "jwt_public_key": jwt_keys.public_pem,
            "auto_migrate": True,
            "outbox_poll_seconds": 0.05,
            "bus_backoff_seconds": [0.05],
            "log_json": True,
            "lookup_timeout_seconds": 2,
            "tool_timeout_seconds": 4,
        }
        return VoiceBridgeSettings(**(defaults | overrides))

    return make


@pytest.fixture
async def voice_app(voice_settings: VoiceSettingsFactory, jwt_keys: KeyPair) -> AsyncIterator[VoiceApp]:
    app = create_app(definition, await voice_settings())
    async with running(app) as client:
        yield VoiceApp(client, app.state.runtime, jwt_keys)
