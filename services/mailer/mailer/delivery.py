"""The delivery worker: a background task that sends due emails one at a time.

Each email is claimed atomically (safe with several replicas), its prospectus PDF fetched, the
lead's consent read from the projection right before the message goes out (an opt-out that
arrived after the email was queued still stops it), then sent. Transient failures wait for the
retry policy's next attempt; permanent ones, and transient ones past the last attempt, end FAILED
with email.failed. Nothing is dropped silently: every outcome is in the log and on the bus.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from random import Random
from typing import Any

from parley_contracts import EmailFailed, EmailSent
from servicekit.leased_jobs import LeasedJobWorker
from servicekit.runtime import ServiceRuntime
from sqlalchemy.ext.asyncio import AsyncSession

from .adapters import repository as repo
from .adapters.dev_mailbox import DevSmtpServer
from .adapters.remote import ProspectusUnavailableError, fetch_prospectus, gateway_settings
from .domain.composition import (
    AgentSignature,
    ComposedEmail,
    ProspectusEmail,
    SenderIdentity,
    compose_prospectus_email,
)
from .domain.delivery import Delivery, EmailStatus, RetryPolicy
from .domain.headers import CompositionError
from .domain.sending import PermanentSendError, SendError, SendResult, TransientSendError
from .domain.unsubscribe import UnsubscribeTokens
from .outgoing import OVERRIDABLE, Outgoing, resolve_outgoing
from .settings import MailerSettings

log = logging.getLogger("mailer.delivery")


class DeliveryWorker(LeasedJobWorker):
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: MailerSettings,
        tokens: UnsubscribeTokens,
        dev_server: DevSmtpServer | None,
    ) -> None:
        super().__init__(
            runtime.db,
            repo.delivery_jobs,
            name="mailer-delivery-worker",
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            poll_seconds=settings.delivery_poll_seconds,
        )
        self._runtime = runtime
        self._settings = settings
        self._tokens = tokens
        self._dev_server = dev_server
        self._policy = RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            first_delay=timedelta(seconds=settings.retry_first_delay_seconds),
            max_delay=timedelta(
                seconds=max(settings.retry_max_delay_seconds, settings.retry_first_delay_seconds)
            ),
        )
        self._company_contact = AgentSignature(
            name=settings.company_contact_name, email=settings.company_contact_email
        )
        self._rng = Random()
        self._outgoing: Outgoing | None = None

    # -- one email -------------------------------------------------------------------------

    async def begin_pass(self) -> None:
        # The sender and SMTP settings an admin may override: read once per pass with emails due.
        overrides = await gateway_settings(
            self._runtime.bus, OVERRIDABLE, self._settings.gateway_timeout_seconds
        )
        self._outgoing = resolve_outgoing(self._settings, overrides, self._dev_server)

    async def process(self, row: dict[str, Any]) -> None:
        outgoing = self._outgoing
        assert outgoing is not None  # begin_pass runs before a pass's first email
        delivery = Delivery(status=EmailStatus.QUEUED, attempts=row["attempts"])
        composed: ComposedEmail | None = None
        transport = outgoing.transport()
        try:
            if transport is None:
                raise TransientSendError(outgoing.problem or "no transport")
            composed = await self._compose(row, outgoing.sender)
            result = await transport.send(composed.message)
        except SendError as error:
            await self._record_failure(row, delivery, error, composed)
        else:
            await self._record_sent(row, delivery, result, composed)

    async def _compose(self, row: dict[str, Any], sender: SenderIdentity) -> ComposedEmail:
        """The message to send now, or the SendError that says why not (and whether to retry)."""
        lead_id = uuid.UUID(row["lead_id"])
        try:
            prospectus = await fetch_prospectus(
                self._runtime.bus,
                lead_id,
                uuid.UUID(row["prospectus_id"]),
                self._settings.prospectus_timeout_seconds,
            )
        except ProspectusUnavailableError as exc:
            raise TransientSendError(str(exc)) from exc
        if not prospectus.found:
            raise PermanentSendError("the prospectus no longer exists")
        if prospectus.status == "FAILED":
            raise PermanentSendError(f"the prospectus failed to render: {prospectus.error}")
        if prospectus.status != "READY":
            raise TransientSendError(f"the prospectus is still {prospectus.status}")
        if prospectus.pdf is None or prospectus.recommendation is None or prospectus.version is None:
            raise PermanentSendError(f"the prospectus cannot be attached: {prospectus.error}")

        # Consent is read last, right before sending.
        async with self._runtime.db.session() as session:
            lead = await repo.get_lead(session, lead_id)
            deleted = lead is None and await repo.is_lead_deleted(session, lead_id)
        if deleted:
            raise PermanentSendError("the lead was deleted")
        if lead is None:
            raise TransientSendError("the lead is not known here yet")
        if lead.email_opt_out:
            raise PermanentSendError("not sent: the lead opted out of email")
        if lead.dnd:
            raise PermanentSendError("not sent: the lead asked not to be contacted (DND)")
        address = row["to_email"] or lead.email
        if not address:
            raise TransientSendError("the lead has no email address yet")

        agent = (
            AgentSignature.model_validate(prospectus.agent.model_dump())
            if prospectus.agent
            else self._company_contact
        )
        email = ProspectusEmail(
            email_id=uuid.UUID(row["id"]),
            lead=lead.snapshot,
            to_email=address,
            recommendation=prospectus.recommendation,
            agent=agent,
            prospectus_pdf=prospectus.pdf,
            prospectus_version=prospectus.version,
        )
        try:
            return compose_prospectus_email(email, sender, self._tokens, now=repo.now())
        except CompositionError as exc:
            raise PermanentSendError(f"the email cannot be composed: {exc}") from exc

    # -- outcomes --------------------------------------------------------------------------

    async def _record_sent(
        self, row: dict[str, Any], delivery: Delivery, result: SendResult, composed: ComposedEmail
    ) -> None:
        sent = delivery.sent(result)
        async with self._runtime.unit_of_work() as uow:
            recorded = await self.jobs.finish(
                uow.session,
                row["id"],
                row["claim_token"],
                status=sent.status.value,
                attempts=sent.attempts,
                next_attempt_at=None,
                provider_message_id=sent.provider_message_id,
                last_error=None,
                sent_at=repo.now(),
                subject=composed.subject[:300],
                to_email=composed.to_address,
            )
            if recorded:
                await uow.emit(
                    EmailSent(
                        lead_id=uuid.UUID(row["lead_id"]),
                        assigned_agent_id=await self._agent_of(uow.session, row),
                        email_id=uuid.UUID(row["id"]),
                        prospectus_id=_uuid(row["prospectus_id"]),
                        provider_message_id=sent.provider_message_id,
                    )
                )
        if not recorded:
            log.warning("email %s was sent but another worker had taken it over", row["id"])

    async def _record_failure(
        self, row: dict[str, Any], delivery: Delivery, error: SendError, composed: ComposedEmail | None
    ) -> None:
        after = delivery.failed(error, policy=self._policy, now=repo.now(), rng=self._rng)
        final = after.status is EmailStatus.FAILED
        log.log(
            logging.WARNING if final else logging.INFO,
            "email %s attempt %d failed%s: %s",
            row["id"],
            after.attempts,
            "" if final else f"; next attempt at {after.next_attempt_at}",
            error.reason,
        )
        values: dict[str, Any] = {
            "status": after.status.value,
            "attempts": after.attempts,
            "next_attempt_at": after.next_attempt_at,
            "last_error": (after.last_error or "")[:1000],
        }
        if composed is not None:
            values.update(subject=composed.subject[:300], to_email=composed.to_address)
        async with self._runtime.unit_of_work() as uow:
            recorded = await self.jobs.finish(uow.session, row["id"], row["claim_token"], **values)
            if recorded and final:
                await uow.emit(
                    EmailFailed(
                        lead_id=uuid.UUID(row["lead_id"]),
                        assigned_agent_id=await self._agent_of(uow.session, row),
                        email_id=uuid.UUID(row["id"]),
                        prospectus_id=_uuid(row["prospectus_id"]),
                        reason=error.reason[:1000],
                        permanent=after.permanent_failure,
                    )
                )

    @staticmethod
    async def _agent_of(session: AsyncSession, row: dict[str, Any]) -> uuid.UUID | None:
        lead = await repo.get_lead(session, uuid.UUID(row["lead_id"]))
        return lead.snapshot.assigned_agent_id if lead else None


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None
