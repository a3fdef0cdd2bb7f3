"""Demo leads for `make up` (dev only): a handful per demo agent, with windows and consent."""

from __future__ import annotations

import sqlalchemy as sa
from servicekit.auth import Principal
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2
from servicekit.runtime import ServiceRuntime

from . import service_layer as svc
from .adapters.tables import leads
from .api.schemas import LeadIn

DEMO_LEADS = [
    (
        DEMO_AGENT,
        {
            "name": "Maria Gonzalez",
            "phone": "+14155550101",
            "email": "maria.gonzalez@example.com",
            "location": "San Francisco, CA",
            "age": 38,
            "income_band": "75-100k",
            "source": "web form",
            "timezone": "America/Los_Angeles",
            "notes": "Two kids; asked about family health cover.",
            "preferred_time_windows": [{"days": ["MON", "WED", "FRI"], "start": "09:00", "end": "12:00"}],
            "consent_flags": {"call_recording": True},
        },
    ),
    (
        DEMO_AGENT,
        {
            "name": "James O'Connor",
            "phone": "+12125550142",
            "email": "james.oconnor@example.com",
            "location": "New York, NY",
            "age": 52,
            "income_band": "100-150k",
            "source": "referral",
            "timezone": "America/New_York",
            "notes": "Retiring in ~10 years.",
            "preferred_time_windows": [{"days": ["TUE", "THU"], "start": "18:00", "end": "20:00"}],
        },
    ),
    (
        DEMO_AGENT,
        {
            "name": "Priya Sharma",
            "phone": "+919820012345",
            "location": "Mumbai",
            "age": 29,
            "source": "webinar",
            "timezone": "Asia/Kolkata",
            "preferred_time_windows": [{"days": ["SAT"], "start": "10:00", "end": "13:00"}],
            "consent_flags": {"call_recording": True},
        },
    ),
    (
        DEMO_AGENT2,
        {
            "name": "Lukas Weber",
            "phone": "+4915112345678",
            "email": "lukas.weber@example.com",
            "location": "Berlin",
            "age": 44,
            "source": "partner",
            "timezone": "Europe/Berlin",
            "preferred_time_windows": [
                {"days": ["MON", "TUE", "WED", "THU", "FRI"], "start": "17:00", "end": "19:30"}
            ],
        },
    ),
    (
        DEMO_AGENT2,
        {
            "name": "Chloe Martin",
            "phone": "+33612345678",
            "location": "Paris",
            "age": 34,
            "source": "web form",
            "timezone": "Europe/Paris",
            "consent_flags": {"email_opt_out": True},
            "preferred_time_windows": [{"days": ["WED"], "start": "12:00", "end": "14:00"}],
        },
    ),
    (
        DEMO_AGENT2,
        {
            "name": "Tom Baker",
            "phone": "+447911123456",
            "email": "tom.baker@example.com",
            "location": "London",
            "age": 67,
            "source": "cold list",
            "timezone": "Europe/London",
            "consent_flags": {"dnd": True},
        },
    ),
]


async def seed(runtime: ServiceRuntime) -> None:
    admin = Principal(DEMO_ADMIN.id, DEMO_ADMIN.role, DEMO_ADMIN.email, DEMO_ADMIN.name)
    async with runtime.db.session() as session:
        if await session.scalar(sa.select(sa.func.count()).select_from(leads)):
            return  # seeded already
    async with runtime.unit_of_work() as uow:
        for agent, data in DEMO_LEADS:
            await svc.create_lead(
                uow, admin, LeadIn.model_validate({**data, "assigned_agent_id": str(agent.id)})
            )
    await runtime.relay.publish_pending()
