"""A service under test: its in-process client, runtime and signing keys, with ready-made identities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from parley_contracts import Event

from ..auth import Role
from ..runtime import ServiceRuntime
from .keys import KeyPair, mint_token

ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-0000000ad001")
AGENT_ID = uuid.UUID("00000000-0000-4000-8000-0000000a9001")
AGENT2_ID = uuid.UUID("00000000-0000-4000-8000-0000000a9002")


@dataclass
class ServiceUnderTest:
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

    async def publish(self, *events: Event) -> None:
        """Publish as another service would (no outbox: the test is that other service)."""
        for event in events:
            await self.runtime.bus.publish_now(event)
