"""Use cases: the lead projection, simulated (text) calls, and calls the scheduler requests."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from parley_contracts import (
    CallEnded,
    CallMode,
    CallOutcome,
    CallRequested,
    CallStarted,
    CallStatusChanged,
    LeadSnapshot,
    TranscriptLine,
    utcnow,
)
from servicekit.auth import Principal
from servicekit.errors import Conflict, Forbidden, NotFound
from servicekit.lead_projection import fill_missing_lead
from servicekit.messaging import UnitOfWork
from servicekit.runtime import ServiceRuntime
from sqlalchemy.ext.asyncio import AsyncSession

from . import persona_service
from .adapters import repository as repo
from .adapters.bus_tools import BusToolBackend
from .adapters.chat_bot import SimulatedBots
from .adapters.repository import LeadRecord, SessionStatus, StoredLine, VoiceSession
from .adapters.tables import leads as leads_table
from .domain.call import CallContext, EndReason, decide_outcome
from .domain.dialogue import BotTurn, SimulatedBot
from .domain.persona import ChosenPersona, Persona
from .domain.ports import EventLogEntry
from .domain.tools import EndCallRequested, ToolRunner
from .phone_calls import PhoneCalls
from .phone_line import PhoneLine, PhoneLines, PhoneLineUnavailable
from .settings import VoiceBridgeSettings
from .transcript_hub import TranscriptHub

log = logging.getLogger(__name__)

# -- the lead projection ------------------------------------------------------------------------


async def project_lead(uow: UnitOfWork, snapshot: LeadSnapshot) -> None:
    """lead.created / lead.updated: keep the newest snapshot; a deleted lead stays deleted."""
    version = await repo.lead_version(uow.session, snapshot.id)
    if version is None:
        await repo.insert_lead(uow.session, snapshot)
        return
    deleted, updated_at = version
    if deleted:
        return
    if (
        updated_at is not None
        and snapshot.updated_at is not None
        and repo.as_utc(snapshot.updated_at) <= updated_at
    ):
        return  # an older (or the same) version: consumers of different subjects race
    await repo.update_lead(uow.session, snapshot)


async def forget_lead(uow: UnitOfWork, lead_id: uuid.UUID) -> None:
    """lead.deleted: keep a tombstone so the lead can no longer be called or seen."""
    await repo.mark_lead_deleted(uow.session, lead_id)


# -- scoping ----------------------------------------------------------------------------------


def _may_see(principal: Principal, lead: LeadRecord | None) -> bool:
    if lead is None or lead.deleted:
        return False
    return principal.is_admin or lead.assigned_agent_id == principal.user_id


async def visible_lead(session: AsyncSession, principal: Principal, lead_id: uuid.UUID) -> LeadRecord:
    lead = await repo.get_lead(session, lead_id)
    if lead is None or not _may_see(principal, lead):
        raise NotFound(f"lead {lead_id} not found")
    return lead


async def visible_session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID, *, for_update: bool = False
) -> tuple[VoiceSession, LeadRecord]:
    found = await repo.get_session(session, session_id, for_update=for_update)
    lead = None if found is None else await repo.get_lead(session, found.lead_id)
    if found is None or lead is None or not _may_see(principal, lead):
        raise NotFound(f"voice session {session_id} not found")
    return found, lead


# -- simulated calls --------------------------------------------------------------------------


@dataclass
class Rehearsal:
    """A simulated call in progress in this process: its bot (the text model, or the offline dialogue
    policy without one; see `adapters.chat_bot`) and the tool runner the bot's tools go through."""

    policy: SimulatedBot
    runner: ToolRunner
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class VoiceCalls:
    """The service's calls: the runtime for transactions and the live rehearsals by session id."""

    def __init__(self, runtime: ServiceRuntime, settings: VoiceBridgeSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        self.backend = BusToolBackend(runtime, lookup_timeout_s=settings.lookup_timeout_seconds)
        self._rehearsals: dict[uuid.UUID, Rehearsal] = {}
        self._starting = asyncio.Lock()
        # Which Twilio account and OpenAI key phone calls use now: the environment's or the admin's.
        self.phone_lines = PhoneLines(settings, runtime.bus)
        # Twilio phone calls, when this deployment has the infrastructure for them (see `PhoneCalls`).
        self.phone: PhoneCalls | None = None
        # Followers of live transcripts (the console's websocket): publish only what is committed.
        self.hub = TranscriptHub()

    def _context(self, session_id: uuid.UUID, lead: LeadRecord, task_id: uuid.UUID | None) -> CallContext:
        return CallContext(
            call_id=session_id,
            lead_id=lead.id,
            assigned_agent_id=lead.assigned_agent_id,
            task_id=task_id,
            lead_timezone=lead.snapshot.timezone,
            mode="simulated",
        )

    @functools.cached_property
    def bots(self) -> SimulatedBots:
        """Makes simulated calls' bots; they share the text model's configuration and client."""
        return SimulatedBots(self.settings, self.runtime.bus)

    def _rehearsal(
        self, session_id: uuid.UUID, lead: LeadRecord, task_id: uuid.UUID | None, persona: Persona
    ) -> Rehearsal:
        call = self._context(session_id, lead, task_id)
        runner = ToolRunner(self.backend, call, timeout_s=self.settings.tool_timeout_seconds)
        return Rehearsal(self.bots.make(lead.snapshot, runner, call_id=session_id, persona=persona), runner)

    async def persona_for(self, persona_id: uuid.UUID | None) -> ChosenPersona:
        """The persona a call starts with (`PersonaLookup`): the one named, else the current default.
        A persona that does not exist is a 422 on `persona_id`."""
        async with self.runtime.db.session() as session:
            return await _chosen(session, persona_id)

    # -- API use cases ----------------------------------------------------------------------

    async def start(
        self,
        principal: Principal,
        lead_id: uuid.UUID,
        mode: CallMode,
        persona_id: uuid.UUID | None = None,
        *,
        override_calling_hours: bool = False,
    ) -> tuple[VoiceSession, list[StoredLine]]:
        """POST /sessions: a simulated call starts at once with the bot's opening, in the persona named
        (the default one otherwise). Only an admin may override calling hours (a phone call's)."""
        if override_calling_hours and not principal.is_admin:
            raise Forbidden("only an admin may override calling hours")
        # A lead created a moment ago may not have reached this projection yet: ask leads for it.
        await fill_missing_lead(self.runtime, leads_table, lead_id, project_lead)
        if mode == "phone":
            return await self._start_phone(principal, lead_id, persona_id, override_calling_hours), []
        async with self.runtime.unit_of_work() as uow:
            lead = await visible_lead(uow.session, principal, lead_id)
            if lead.dnd:
                raise Conflict(f"lead {lead_id} asked not to be called (do not call)", code="lead_dnd")
            chosen = await _chosen(uow.session, persona_id)
            session_id = uuid.uuid4()
            now = utcnow()
            await repo.insert_session(
                uow.session,
                session_id=session_id,
                lead=lead,
                mode=mode,
                status=SessionStatus.ACTIVE,
                now=now,
                created_by=principal.user_id,
                persona_id=chosen.id,
            )
            rehearsal = self._rehearsal(session_id, lead, None, chosen.persona)
            lines = await self._begin(uow, rehearsal, session_id, lead, None, now)
            created = await repo.get_session(uow.session, session_id)
        assert created is not None
        self._rehearsals[session_id] = rehearsal
        self.hub.publish_lines(session_id, lines)
        return created, lines

    async def message(
        self, principal: Principal, session_id: uuid.UUID, text: str
    ) -> tuple[VoiceSession, list[StoredLine], str]:
        """POST /sessions/{id}/messages: the prospect's words, the bot's reply (tools run on the way)."""
        async with self._starting:
            rehearsal, opening = await self._live(principal, session_id)
        async with rehearsal.lock:
            async with self.runtime.unit_of_work() as uow:
                current, _ = await visible_session(uow.session, principal, session_id, for_update=True)
                if current.status is SessionStatus.ENDED or rehearsal.policy.ended:
                    raise Conflict(f"voice session {session_id} has ended", code="session_ended")
                said = await repo.append_lines(uow.session, session_id, [_line("prospect", text)])
            self.hub.publish_lines(session_id, said)
            performed = await rehearsal.policy.respond(text)
            end_reason = next(
                (r.effect.reason for r in performed.results if isinstance(r.effect, EndCallRequested)), None
            )
            async with self.runtime.unit_of_work() as uow:
                bot = await repo.append_lines(uow.session, session_id, [_line("bot", performed.text)])
                for result in performed.results:
                    entry = EventLogEntry(
                        at=utcnow(),
                        source="bridge",
                        direction="internal",
                        type=f"tool_result.{result.name}",
                        data={"status": result.status},
                    )
                    await repo.record_event(uow.session, session_id, entry)
                if end_reason is not None:
                    await repo.update_session(uow.session, session_id, end_call_reason=end_reason)
                if rehearsal.policy.ended:
                    await self._finish(uow, session_id, EndReason.BOT_ENDED, rehearsal.policy.summary())
                    self._rehearsals.pop(session_id, None)
                updated = await repo.get_session(uow.session, session_id)
            self.hub.publish_lines(session_id, bot)
            if updated is not None and updated.status is SessionStatus.ENDED:
                self.hub.publish_ended(session_id, outcome=updated.outcome, reason=updated.end_reason)
        assert updated is not None
        return updated, [*opening, *said, *bot], performed.text

    async def _start_phone(
        self,
        principal: Principal,
        lead_id: uuid.UUID,
        persona_id: uuid.UUID | None,
        override_calling_hours: bool,
    ) -> VoiceSession:
        async with self.runtime.db.session() as session:
            lead = await visible_lead(session, principal, lead_id)
        if lead.dnd:  # consent is refused first, also where no phone line is configured
            raise Conflict(f"lead {lead_id} asked not to be called (do not call)", code="lead_dnd")
        if self.phone is None:
            raise (await self.phone_lines.missing()).as_problem()
        return await self.phone.start(
            principal, lead, persona_id, override_calling_hours=override_calling_hours
        )

    async def _phone_line(self) -> tuple[PhoneCalls, PhoneLine]:
        """The phone calls and the line a new call goes out on; PhoneLineUnavailable otherwise."""
        if self.phone is None:
            raise await self.phone_lines.missing()
        return self.phone, await self.phone.line()

    async def stop(self, principal: Principal, session_id: uuid.UUID) -> VoiceSession:
        """POST /sessions/{id}/stop: end the call now (stopping an ended call changes nothing). A live
        phone call is hung up; its end is recorded once Twilio confirms it."""
        if self.phone is not None:
            async with self.runtime.db.session() as session:
                current, _ = await visible_session(session, principal, session_id)
            if current.mode == "phone" and self.phone.hang_up(session_id):
                return current
        rehearsal = self._rehearsals.get(session_id)
        async with self.runtime.unit_of_work() as uow:
            current, _ = await visible_session(uow.session, principal, session_id, for_update=True)
            if current.status is not SessionStatus.ENDED:
                summary = rehearsal.policy.summary() if rehearsal is not None else None
                await self._finish(
                    uow, session_id, EndReason.HANGUP_REQUESTED, summary, reason="stopped by the agent"
                )
            stopped = await repo.get_session(uow.session, session_id)
        self._rehearsals.pop(session_id, None)
        assert stopped is not None
        if current.status is not SessionStatus.ENDED:
            self.hub.publish_ended(session_id, outcome=stopped.outcome, reason=stopped.end_reason)
        return stopped

    # -- scheduler requests -----------------------------------------------------------------

    async def on_call_requested(self, uow: UnitOfWork, event: CallRequested) -> None:
        """call.requested: a simulated call waits for its agent to rehearse it; a phone call is placed,
        or, when it may not or cannot be (no phone line, consent, calling hours, every line busy), it
        ends FAILED at once and the scheduler decides what is next."""
        lead = await repo.get_lead(uow.session, event.lead_id)
        session_id = uuid.uuid4()
        now = utcnow()
        if lead is None or lead.deleted:
            # No session row without a lead; the scheduler still hears why nothing happened.
            await uow.emit(
                CallEnded(
                    call_id=session_id,
                    lead_id=event.lead_id,
                    assigned_agent_id=event.assigned_agent_id,
                    task_id=event.task_id,
                    mode=event.mode,
                    outcome=CallOutcome.FAILED,
                    summary="The lead is unknown to the voice bridge.",
                )
            )
            return
        failure = None
        if lead.dnd:
            failure = "The lead asked not to be called (do not call)."
        elif event.mode == "phone":
            try:
                phone, line = await self._phone_line()
            except PhoneLineUnavailable as unavailable:
                failure = str(unavailable)
            else:
                refused = phone.refusal(lead)  # the scheduler plans inside legal hours: no override here
                if refused is None:
                    await phone.start_requested(uow, session_id, lead, event.task_id, line)
                    return
                failure = str(refused)
        await repo.insert_session(
            uow.session,
            session_id=session_id,
            lead=lead,
            mode=event.mode,
            status=SessionStatus.WAITING_FOR_AGENT,
            now=now,
            task_id=event.task_id,
        )
        if failure is not None:
            await self._finish(
                uow, session_id, EndReason.BRIDGE_ERROR, None, reason=failure, outcome=CallOutcome.FAILED
            )
            return
        await uow.emit(
            CallStatusChanged(
                call_id=session_id,
                lead_id=lead.id,
                assigned_agent_id=lead.assigned_agent_id,
                task_id=event.task_id,
                status="queued",
            )
        )

    # -- internals --------------------------------------------------------------------------

    async def _live(self, principal: Principal, session_id: uuid.UUID) -> tuple[Rehearsal, list[StoredLine]]:
        """The session's rehearsal; a scheduled one waiting for its agent starts here with the opening."""
        async with self.runtime.unit_of_work() as uow:
            current, lead = await visible_session(uow.session, principal, session_id, for_update=True)
            if current.mode != "simulated":
                raise Conflict("messages are only accepted on simulated calls", code="not_simulated")
            if current.status is SessionStatus.ENDED:
                raise Conflict(f"voice session {session_id} has ended", code="session_ended")
            if (rehearsal := self._rehearsals.get(session_id)) is not None:
                return rehearsal, []
            if current.status is SessionStatus.ACTIVE:
                raise Conflict(
                    "this simulated call was interrupted by a restart of the voice service; stop it and start "
                    "a new one",
                    code="session_interrupted",
                )
            if lead.dnd:
                raise Conflict(f"lead {lead.id} asked not to be called (do not call)", code="lead_dnd")
            now = utcnow()
            # A scheduled rehearsal names no persona: the default one as it starts (recorded with it).
            chosen = await persona_service.choose(uow.session, current.persona_id)
            if chosen is None:  # the persona it named was deleted meanwhile
                chosen = await _chosen(uow.session, None)
            await repo.update_session(
                uow.session, session_id, status=SessionStatus.ACTIVE, started_at=now, persona_id=chosen.id
            )
            rehearsal = self._rehearsal(session_id, lead, current.task_id, chosen.persona)
            lines = await self._begin(uow, rehearsal, session_id, lead, current.task_id, now)
        self._rehearsals[session_id] = rehearsal
        self.hub.publish_lines(session_id, lines)
        return rehearsal, lines

    async def _begin(
        self,
        uow: UnitOfWork,
        rehearsal: Rehearsal,
        session_id: uuid.UUID,
        lead: LeadRecord,
        task_id: uuid.UUID | None,
        now: datetime,
    ) -> list[StoredLine]:
        opening: BotTurn = rehearsal.policy.opening()
        await uow.emit(
            CallStarted(
                call_id=session_id,
                lead_id=lead.id,
                assigned_agent_id=lead.assigned_agent_id,
                task_id=task_id,
                mode="simulated",
            )
        )
        return await repo.append_lines(uow.session, session_id, [_line("bot", opening.text, now)])

    async def _finish(
        self,
        uow: UnitOfWork,
        session_id: uuid.UUID,
        end_reason: EndReason,
        summary: str | None,
        *,
        reason: str | None = None,
        outcome: CallOutcome | None = None,
    ) -> None:
        """End the session and announce call.ended with the stored transcript (same transaction)."""
        current = await repo.get_session(uow.session, session_id, for_update=True)
        assert current is not None
        connected = current.started_at is not None
        decided = outcome or decide_outcome(end_reason, current.facts, connected=connected)
        now = utcnow()
        await repo.update_session(
            uow.session,
            session_id,
            status=SessionStatus.ENDED,
            ended_at=now,
            outcome=decided,
            end_reason=(reason or end_reason.value)[:300],
            summary=summary or None,
        )
        lines = [item.line for item in await repo.transcript(uow.session, session_id)]
        duration = 0.0 if current.started_at is None else max(0.0, (now - current.started_at).total_seconds())
        lead = await repo.get_lead(uow.session, current.lead_id)
        await uow.emit(
            CallEnded(
                call_id=session_id,
                lead_id=current.lead_id,
                assigned_agent_id=lead.assigned_agent_id if lead is not None else current.agent_id,
                task_id=current.task_id,
                mode=current.mode,
                outcome=decided,
                duration_seconds=duration,
                transcript=lines,
                summary=summary or reason,
                email_permission=current.email_saved is not None,
            )
        )


async def _chosen(session: AsyncSession, persona_id: uuid.UUID | None) -> ChosenPersona:
    chosen = await persona_service.choose(session, persona_id)
    if chosen is None:
        assert persona_id is not None  # without an id, the built-in persona at least
        raise persona_service.unknown_persona(persona_id)
    return chosen


def _line(speaker: str, text: str, at: datetime | None = None) -> TranscriptLine:
    return TranscriptLine.model_validate({"speaker": speaker, "text": text, "at": at or utcnow()})
