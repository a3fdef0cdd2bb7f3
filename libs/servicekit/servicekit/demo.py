"""Demo identities shared by the seeds of several services (dev profile only, never in prod).

Stable ids let the gateway's demo users and the leads assigned to them agree across services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .auth import Role


@dataclass(frozen=True)
class DemoUser:
    id: uuid.UUID
    email: str
    name: str
    role: Role
    password: str


DEMO_ADMIN = DemoUser(
    uuid.UUID("00000000-0000-4000-8000-00000000a001"),
    "admin@example.com",
    "Avery Admin",
    Role.ADMIN,
    "admin-demo",
)
DEMO_AGENT = DemoUser(
    uuid.UUID("00000000-0000-4000-8000-00000000b001"),
    "agent@example.com",
    "Sam Agent",
    Role.AGENT,
    "agent-demo",
)
DEMO_AGENT2 = DemoUser(
    uuid.UUID("00000000-0000-4000-8000-00000000b002"),
    "agent2@example.com",
    "Riley Agent",
    Role.AGENT,
    "agent2-demo",
)
DEMO_USERS = (DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2)
