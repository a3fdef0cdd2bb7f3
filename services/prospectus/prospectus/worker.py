"""The render worker: background loops that each take queued versions one at a time, render them off
the event loop (WeasyPrint is synchronous and CPU-bound: in child processes when several render at
once, see `RenderPool`), store the files, and record the outcome with its event in one transaction.
`RENDER_CONCURRENCY` loops run in a process, and several replicas can run it: each version is claimed
atomically."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from parley_contracts import ProspectusFailed, ProspectusGenerated
from pydantic import ValidationError
from servicekit.leased_jobs import LeasedJobWorker
from servicekit.runtime import ServiceRuntime

from .adapters import repository as repo
from .adapters.gateway import GatewayDirectory
from .domain.models import AgentContact, Branding, ProspectusInput, RenderedProspectus
from .domain.ports import ProspectusStore, RendererUnavailableError, RenderExecutor, StoredProspectus
from .domain.versions import InputsNotReadyError, VersionStatus, may_email_automatically, retry_delay
from .settings import ProspectusSettings

log = logging.getLogger("prospectus.worker")

BRANDING_KEYS = ["company_name", "brand_primary_color"]


class RenderWorker(LeasedJobWorker):
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: ProspectusSettings,
        renderer: RenderExecutor,
        store: ProspectusStore,
        gateway: GatewayDirectory,
    ) -> None:
        super().__init__(
            runtime.db,
            repo.render_jobs,
            name="prospectus-render-worker",
            lease=timedelta(seconds=settings.render_lease_seconds),
            poll_seconds=settings.worker_poll_seconds,
            concurrency=settings.render_concurrency,
        )
        self._runtime = runtime
        self._settings = settings
        self._renderer = renderer
        self._store = store
        self._gateway = gateway
        self._default_branding = default_branding(settings)
        self._company_contact = AgentContact(
            name=settings.company_contact_name,
            email=settings.company_contact_email,
            phone=settings.company_contact_phone,
        )

    # -- one version -----------------------------------------------------------------------

    async def process(self, claimed: dict[str, Any]) -> None:
        lead_id = uuid.UUID(claimed["lead_id"])
        try:
            data = await self._inputs(claimed)
            if data is None:
                return
            rendered: RenderedProspectus = await self._renderer.render(data)
            stored = await self._store.save(lead_id, claimed["version"], rendered)
        except (InputsNotReadyError, RendererUnavailableError, OSError) as exc:
            await self._retry_or_fail(claimed, str(exc))
        except Exception as exc:
            log.exception("rendering version %s of lead %s failed", claimed["version"], lead_id)
            await self._fail(claimed, _reason(exc))
        else:
            await self._complete(claimed, data, rendered, stored)

    async def _inputs(self, claimed: dict[str, Any]) -> ProspectusInput | None:
        lead_id = uuid.UUID(claimed["lead_id"])
        async with self._runtime.db.session() as session:
            if await repo.is_lead_deleted(session, lead_id):
                return None  # the lead's versions are being removed with it
            lead = await repo.get_lead(session, lead_id)
            recommendation = await repo.get_recommendation(session, uuid.UUID(claimed["recommendation_id"]))
            assert recommendation is not None  # a version references its recommendation (foreign key)
            wanted = [item.product_id for item in recommendation.recommendation.items]
            products = await repo.get_products(session, wanted)
        if lead is None:
            raise InputsNotReadyError(f"lead {lead_id} is not known here yet")
        missing = [str(product_id) for product_id in wanted if product_id not in products]
        if missing:
            raise InputsNotReadyError(f"catalog product(s) {', '.join(missing)} not known here (yet)")
        agent, branding = await asyncio.gather(self._agent(lead.snapshot.assigned_agent_id), self._branding())
        return ProspectusInput(
            lead=lead.snapshot,
            needs=recommendation.needs,
            recommendation=recommendation.recommendation,
            products=[products[product_id] for product_id in dict.fromkeys(wanted)],
            agent=agent,
            branding=branding,
            version=claimed["version"],
            generated_at=repo.now(),
        )

    async def _agent(self, agent_id: uuid.UUID | None) -> AgentContact:
        user = await self._gateway.user(agent_id) if agent_id else None
        if user is None or not user.name or not user.email:
            return self._company_contact
        try:
            return AgentContact(name=user.name, email=user.email, title=self._settings.agent_title)
        except ValidationError:
            return self._company_contact

    async def _branding(self) -> Branding:
        overrides = await self._gateway.settings(BRANDING_KEYS)
        if not overrides:
            return self._default_branding
        update = {
            "company_name": overrides.get("company_name"),
            "primary_color": overrides.get("brand_primary_color"),
        }
        try:
            return Branding.model_validate(
                {**self._default_branding.model_dump(), **{k: v for k, v in update.items() if v is not None}}
            )
        except ValidationError:
            log.warning("branding from the admin settings is invalid; using the configured defaults")
            return self._default_branding

    # -- outcomes --------------------------------------------------------------------------

    async def _complete(
        self,
        claimed: dict[str, Any],
        data: ProspectusInput,
        rendered: RenderedProspectus,
        stored: StoredProspectus,
    ) -> None:
        lead_id = uuid.UUID(claimed["lead_id"])
        async with self._runtime.unit_of_work() as uow:
            done = await self.jobs.finish(
                uow.session,
                claimed["id"],
                claimed["claim_token"],
                status=VersionStatus.READY.value,
                error=None,
                next_attempt_at=None,
                ready_at=repo.now(),
                pdf_location=stored.pdf_location,
                html_location=stored.html_location,
                pdf_sha256=stored.pdf_sha256,
                pdf_bytes=stored.pdf_bytes,
                page_count=rendered.page_count,
                agent_contact=data.agent.model_dump(mode="json"),
            )
            lead_deleted = not done and await repo.is_lead_deleted(uow.session, lead_id)
            # Consent is read now, at the end, so an opt-out that arrived during the render counts.
            lead = await repo.get_lead(uow.session, lead_id) if done else None
            if lead is not None:
                await uow.emit(
                    ProspectusGenerated(
                        lead_id=lead_id,
                        assigned_agent_id=lead.snapshot.assigned_agent_id,
                        prospectus_id=uuid.UUID(claimed["id"]),
                        version=claimed["version"],
                        call_id=uuid.UUID(claimed["call_id"]) if claimed["call_id"] else None,
                        product_ids=[uuid.UUID(p) for p in claimed["product_ids"]],
                        send_email=may_email_automatically(claimed["automatic"], lead.email_facts),
                    )
                )
        if lead_deleted:
            # The lead was deleted while its version rendered: the files just written go too.
            await self._store.delete_lead(lead_id)
        elif not done:
            log.warning("version %s was taken over by another worker; its outcome stands", claimed["id"])

    async def _retry_or_fail(self, claimed: dict[str, Any], reason: str) -> None:
        if claimed["attempts"] >= self._settings.render_max_attempts:
            await self._fail(claimed, f"gave up after {claimed['attempts']} attempts: {reason}")
            return
        delay = retry_delay(claimed["attempts"], self._settings.render_retry_seconds)
        log.info("version %s not rendered yet (%s); retrying in %s", claimed["id"], reason, delay)
        async with self._runtime.db.transaction() as session:
            await self.jobs.finish(
                session,
                claimed["id"],
                claimed["claim_token"],
                status=VersionStatus.QUEUED.value,
                error=reason[:1000],
                next_attempt_at=repo.now() + delay,
            )

    async def _fail(self, claimed: dict[str, Any], reason: str) -> None:
        lead_id = uuid.UUID(claimed["lead_id"])
        async with self._runtime.unit_of_work() as uow:
            done = await self.jobs.finish(
                uow.session,
                claimed["id"],
                claimed["claim_token"],
                status=VersionStatus.FAILED.value,
                error=reason[:1000],
                next_attempt_at=None,
            )
            lead = await repo.get_lead(uow.session, lead_id) if done else None
            if done:
                await uow.emit(
                    ProspectusFailed(
                        lead_id=lead_id,
                        assigned_agent_id=lead.snapshot.assigned_agent_id if lead else None,
                        prospectus_id=uuid.UUID(claimed["id"]),
                        reason=reason[:1000],
                    )
                )


def default_branding(settings: ProspectusSettings) -> Branding:
    return Branding(
        company_name=settings.company_name,
        primary_color=settings.brand_primary_color,
        footer_text=settings.brand_footer_text,
        legal_notices=settings.brand_legal_notices,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(error["msg"]) for error in exc.errors())
    return f"{type(exc).__name__}: {exc}"
