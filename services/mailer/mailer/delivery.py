"""The delivery worker: a background task that sends due emails one at a time.

Each email is claimed atomically (safe with several replicas), its prospectus PDF fetched, the
lead's consent read from the projection right before the message goes out (an opt-out that
arrived after the email was queued still stops it), then sent. Transient failures wait for the
retry policy's next attempt; permanent ones, and transient ones past the last attempt, end FAILED
with email.failed. Nothing is dropped silently: every outcome is in the log and on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from random import Random
from typing import Any

import sqlalchemy as sa
from parley_contracts import EmailFailed, EmailSent
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


class DeliveryWorker:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: MailerSettings,
        tokens: UnsubscribeTokens,
        dev_server: DevSmtpServer | None,
    ) -> None:
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
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._current: dict[str, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mailer-delivery-worker")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._current is not None:
            # Interrupted mid-send: make the email due again now rather than after the lease.
            async with self._runtime.db.transaction() as session:
                await repo.finish_claim(
                    session, self._current["id"], self._current["claim_token"], next_attempt_at=repo.now()
                )
            self._current = None

    def kick(self) -> None:
        self._wake.set()

    def kick_after_commit(self, session: AsyncSession) -> None:
        """Wake the worker once the transaction that queued an email has committed."""
        sa.event.listen(session.sync_session, "after_commit", lambda _session: self.kick(), once=True)

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.deliver_due()
            except Exception:
                log.exception("delivery pass failed; retrying")
                handled = 0
            if handled == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.delivery_poll_seconds)

    # -- a pass ----------------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Send every email that is due now; returns how many were attempted."""
        outgoing: Outgoing | None = None
        attempted = 0
        lease = timedelta(seconds=self._settings.delivery_lease_seconds)
        while True:
            # One at a time: a claim's lease only has to cover one send, however slow the server.
            async with self._runtime.db.transaction() as session:
                claimed = await repo.claim_due_email(session, lease)
            if claimed is None:
                return attempted
            if outgoing is None:
                overrides = await gateway_settings(
                    self._runtime.bus, OVERRIDABLE, self._settings.gateway_timeout_seconds
                )
                outgoing = resolve_outgoing(self._settings, overrides, self._dev_server)
            # Remembered until the outcome is recorded, so `stop()` can hand back an interrupted send.
            self._current = claimed
            await self._deliver(claimed, outgoing)
            self._current = None
            attempted += 1

    async def _deliver(self, row: dict[str, Any], outgoing: Outgoing) -> None:
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
            recorded = await repo.finish_claim(
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
            recorded = await repo.finish_claim(uow.session, row["id"], row["claim_token"], **values)
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
