"""Phone calls: placing them with Twilio, its signed webhooks, the media stream, voicemail, callbacks.

One `LiveCall` per call this process carries, from placement to `call.ended`:

    place  -> Twilio rings the lead; the Realtime session is opened meanwhile (pre-warm)
    answer -> Twilio opens our media websocket with the call's single-use token; the bridge runs
    end    -> whichever comes first: the stream ends (caller hung up, the bot said goodbye, a
              voicemail replaced the stream) or Twilio reports a terminal status (busy, no-answer...)

A supervisor task per call waits for that end, makes sure the line is closed (REST hang-up) and the
final telephony status is known (callback, or the REST API when the callback went missing), then
records the outcome and `call.ended` once. The call's concurrency slot is released on the first
terminal status, and in any case when the supervisor finishes.

Placement is never retried here: a timed-out `calls.create` may have rung the lead. A call that could
not be placed ends FAILED and the scheduler decides when to try again.

Which Twilio account and OpenAI key a call uses is the `PhoneLine` current when it starts (`phone_line`:
the environment's credentials, else the admin settings'). The call keeps that line to its end, so an
admin changing credentials mid-call only changes what the next call gets; the call's webhooks are
verified with the auth token it was placed with, or the current one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from parley_contracts import (
    AuditRecorded,
    CallEnded,
    CallOutcome,
    CallStarted,
    CallStatusChanged,
    utcnow,
)
from servicekit.auth import Principal
from servicekit.errors import Conflict, ServiceUnavailable
from servicekit.messaging import UnitOfWork
from servicekit.runtime import ServiceRuntime
from starlette.websockets import WebSocket, WebSocketDisconnect

from .adapters import repository as repo
from .adapters.db_journal import DatabaseCallJournal
from .adapters.memory_stores import InMemoryReplayStore, InMemoryShortLinkStore
from .adapters.realtime import RealtimeConnector, RealtimeSessionConfig
from .adapters.repository import CallDirection, LeadRecord, SessionStatus, VoiceSession
from .adapters.twilio_media import TwilioProtocolError, read_stream_start
from .call_bridge import BridgeSettings, CallBridge
from .domain.call import CallContext, CallSummary
from .domain.call_state import AmdAction, CallPhase, CallProgress, final_outcome
from .domain.callback_links import CallbackLinks
from .domain.calling_hours import HoursRefusal, hours_refusal
from .domain.media_tokens import MediaStreamTokens
from .domain.persona import DEFAULT_PERSONA, Persona, PersonaLookup, built_in_persona, first_name_of
from .domain.ports import EventLogEntry, ToolBackend
from .domain.prompt import MAX_PREVIOUS_CALLS, PreviousCall, build_instructions
from .domain.signed_tokens import TokenRejected
from .domain.telephony import E164, OutboundCall, TelephonyError
from .domain.twiml import (
    STREAM_TOKEN_PARAMETER,
    connect_stream_twiml,
    inbound_answer_twiml,
    say_and_hang_up_twiml,
)
from .domain.voicemail import voicemail_message
from .domain.webhooks import PublicUrls
from .phone_line import PhoneLine, PhoneLines, PhoneLineUnavailable, distinct
from .settings import VoiceBridgeSettings
from .transcript_hub import TranscriptHub

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
# A voicemail takes about 30 s to speak; Twilio hangs up after it and then reports `completed`.
_VOICEMAIL_WAIT_SECONDS = 90.0
# At start-up, how long (in 0.1 s steps) hanging up interrupted calls waits for the bus.
_BUS_WAIT_STEPS = 300


class CallRefused(Exception):
    """The call may not or cannot be placed now; `code` names why for the API's problem+json."""

    def __init__(self, message: str, code: str, *, retry_later: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retry_later = retry_later

    def as_problem(self) -> Conflict | ServiceUnavailable:
        if self.retry_later:
            return ServiceUnavailable(str(self), code=self.code)
        return Conflict(str(self), code=self.code)


@dataclass(eq=False)
class LiveCall:
    context: CallContext
    lead: LeadRecord
    direction: CallDirection
    bridge: CallBridge
    line: PhoneLine  # the Twilio account and OpenAI key the call started with, to its end
    persona: Persona = DEFAULT_PERSONA  # the persona the call was started with
    progress: CallProgress = field(default_factory=CallProgress)
    call_sid: str | None = None
    connected: bool = False  # answered (status) or streaming: `call.started` was announced
    stream_started: bool = False
    voicemail_left: bool = False
    summary: CallSummary | None = None
    terminal: asyncio.Event = field(default_factory=asyncio.Event)
    stream_done: asyncio.Event = field(default_factory=asyncio.Event)


def _status_event(live: LiveCall, phase: CallPhase, answered_by: str | None = None) -> CallStatusChanged:
    return CallStatusChanged(
        call_id=live.context.call_id,
        lead_id=live.context.lead_id,
        assigned_agent_id=live.context.assigned_agent_id,
        task_id=live.context.task_id,
        status=phase.telephony_status,
        answered_by=answered_by,
    )


class PhoneCalls:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: VoiceBridgeSettings,
        *,
        lines: PhoneLines,
        tools: ToolBackend,
        hub: TranscriptHub,
        persona_for: PersonaLookup = built_in_persona,
    ) -> None:
        if missing := settings.phone_infrastructure_missing():
            raise ValueError(f"phone calls need {' and '.join(missing)} configured")
        assert settings.twilio_webhook_base_url
        self.runtime = runtime
        self.settings = settings
        # Read once: the table is the same for every call until the service restarts with new settings.
        self.calling_rules = settings.calling_rules_table()
        # The Twilio account and OpenAI key new calls get (env, else admin settings), as it changes.
        self.lines = lines
        # Each call's persona, resolved as it starts: a stored one by id, or the current default for None.
        self.persona_for = persona_for
        self._tools = tools
        self._hub = hub
        self._journal = DatabaseCallJournal(runtime, hub.publish_lines)
        signing = [secret.get_secret_value().encode() for secret in settings.voice_signing_secrets]
        self.urls = PublicUrls(settings.twilio_webhook_base_url)
        self.tokens = MediaStreamTokens(signing, InMemoryReplayStore())
        link_base = settings.callback_link_base_url or self.urls.url(CALLBACK_LINK_PATH)
        self.callback_links = CallbackLinks(signing, link_base, InMemoryShortLinkStore())
        self._calls: dict[uuid.UUID, LiveCall] = {}
        self._slots: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- placing calls ----------------------------------------------------------------------

    @property
    def lines_in_use(self) -> int:
        return len(self._slots)

    async def line(self) -> PhoneLine:
        """The line a new call goes out on; PhoneLineUnavailable (a 503) names what is missing."""
        return await self.lines.current()

    def refusal(self, lead: LeadRecord, *, override_calling_hours: bool = False) -> CallRefused | None:
        """Why this lead may not be rung now, if it may not: consent first, then the law, then capacity.

        `override_calling_hours` (an admin's manual call, see `start`) skips the calling-hours rule only:
        consent, a valid number and a free line are never overridden."""
        if lead.dnd:
            return CallRefused(f"lead {lead.id} asked not to be called (do not call)", "lead_dnd")
        if not lead.snapshot.phone or not E164.match(lead.snapshot.phone):
            return CallRefused(f"lead {lead.id} has no valid phone number", "no_phone_number")
        if not override_calling_hours and (outside := self.outside_calling_hours(lead)) is not None:
            return CallRefused(outside.message, outside.code)
        if len(self._slots) >= self.settings.max_concurrent_calls:
            return CallRefused(
                "every phone line of this service is busy; try again shortly", "lines_busy", retry_later=True
            )
        return None

    def outside_calling_hours(self, lead: LeadRecord) -> HoursRefusal | None:
        """Why the calling-hours rule refuses ringing this lead now, if it does."""
        return hours_refusal(self.calling_rules, lead.snapshot, utcnow())

    async def start(
        self,
        principal: Principal,
        lead: LeadRecord,
        persona_id: uuid.UUID | None = None,
        *,
        override_calling_hours: bool = False,
    ) -> VoiceSession:
        """POST /sessions with mode "phone": refuse or ring the lead; returns the DIALING session.

        `override_calling_hours` is an admin's (the API checks the role): a call outside legal hours is
        then placed, and the override is audited in the transaction that records the session."""
        try:
            line = await self.line()
        except PhoneLineUnavailable as unavailable:
            raise unavailable.as_problem() from unavailable
        if (refused := self.refusal(lead, override_calling_hours=override_calling_hours)) is not None:
            raise refused.as_problem()
        overridden = self.outside_calling_hours(lead) if override_calling_hours else None
        chosen = await self.persona_for(persona_id)
        session_id = uuid.uuid4()
        async with self.runtime.unit_of_work() as uow:
            await _insert_dialing(uow, session_id, lead, created_by=principal.user_id, persona_id=chosen.id)
            if overridden is not None:
                await uow.emit(self._override_audit(principal, lead, session_id, overridden))
        try:
            await self._place(session_id, lead, line, task_id=None, persona=chosen.persona)
        except TelephonyError as error:
            raise ServiceUnavailable(
                f"the call could not be placed: {error}", code="telephony_error"
            ) from error
        async with self.runtime.db.session() as session:
            placed = await repo.get_session(session, session_id)
        assert placed is not None
        return placed

    def _override_audit(
        self, principal: Principal, lead: LeadRecord, session_id: uuid.UUID, overridden: HoursRefusal
    ) -> AuditRecorded:
        return AuditRecorded(
            service=self.settings.service_name,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="voice_session.calling_hours_overridden",
            entity="voice_session",
            entity_id=str(session_id),
            after={"lead_id": str(lead.id), **overridden.audit_view()},
        )

    async def start_requested(
        self,
        uow: UnitOfWork,
        session_id: uuid.UUID,
        lead: LeadRecord,
        task_id: uuid.UUID | None,
        line: PhoneLine,
    ) -> None:
        """call.requested for a phone call on `line` (see `line()`): the DIALING session is written in the
        handler's transaction and the call placed once that has committed, so the inbox keeps a
        redelivery from ringing twice."""
        chosen = await self.persona_for(None)
        await _insert_dialing(uow, session_id, lead, task_id=task_id, persona_id=chosen.id)

        async def place() -> None:
            with contextlib.suppress(TelephonyError):  # recorded as a FAILED call by `_place`
                await self._place(session_id, lead, line, task_id=task_id, persona=chosen.persona)

        # Only once committed: a rolled-back handler places nothing and its event is redelivered.
        sa.event.listen(
            uow.session.sync_session,
            "after_commit",
            lambda _session: self._spawn(place(), f"place-{session_id}"),
            once=True,
        )

    async def _place(
        self,
        session_id: uuid.UUID,
        lead: LeadRecord,
        line: PhoneLine,
        *,
        task_id: uuid.UUID | None,
        persona: Persona,
    ) -> None:
        live = self._open_call(session_id, lead, line, "outbound", task_id, persona)
        assert lead.snapshot.phone is not None
        outbound = OutboundCall(
            to=lead.snapshot.phone,
            from_=line.from_number,
            twiml=connect_stream_twiml(self.urls.media_stream(), self.tokens.issue(session_id)),
            status_callback_url=self.urls.status_callback(session_id),
            amd_callback_url=self.urls.amd_callback(session_id),
            ring_timeout_seconds=self.settings.ring_timeout_seconds,
            time_limit_seconds=self.settings.max_call_seconds,
        )
        try:
            placed = await line.telephony.place_call(outbound)
        except TelephonyError as error:
            log.warning("call placement failed", extra={"call_id": str(session_id), "error": str(error)})
            await self._end(live, await live.bridge.close(), reason=f"placement failed: {error}")
            raise
        live.call_sid = placed.call_sid
        async with self.runtime.unit_of_work() as uow:
            await repo.update_session(uow.session, session_id, twilio_call_sid=placed.call_sid)
        self._spawn(self._supervise(live), f"call-{session_id}")

    def _open_call(
        self,
        session_id: uuid.UUID,
        lead: LeadRecord,
        line: PhoneLine,
        direction: CallDirection,
        task_id: uuid.UUID | None,
        persona: Persona,
        instructions: str | None = None,
    ) -> LiveCall:
        """Take a line, create the bridge and open its Realtime session while the phone rings."""
        context = CallContext(
            call_id=session_id,
            lead_id=lead.id,
            assigned_agent_id=lead.assigned_agent_id,
            task_id=task_id,
            lead_timezone=lead.snapshot.timezone,
            mode="phone",
        )
        config = RealtimeSessionConfig(
            model=line.realtime_model,
            instructions=instructions or build_instructions(persona, lead.snapshot, now=utcnow()),
            voice=persona.voice,
            transcription_model=self.settings.openai_transcription_model,
            transcription_language=persona.language.split("-")[0],
        )
        bridge = CallBridge(
            context,
            RealtimeConnector(line.openai, config),
            self._tools,
            self._journal,
            BridgeSettings(
                tool_timeout_s=self.settings.tool_timeout_seconds, prices=self.settings.realtime_token_prices
            ),
        )
        live = LiveCall(context, lead, direction, bridge, line, persona)
        self.lines.acquire(line)
        self._calls[session_id] = live
        self._slots.add(session_id)
        self._spawn(self._prewarm(live), f"prewarm-{session_id}")
        return live

    async def _prewarm(self, live: LiveCall) -> None:
        try:
            await live.bridge.prewarm()
        except Exception as exc:  # the bridge tries again when the caller answers
            log.warning(
                "realtime pre-warm failed", extra={"call_id": str(live.context.call_id), "error": repr(exc)}
            )

    # -- the end of a call ------------------------------------------------------------------

    async def _supervise(self, live: LiveCall) -> None:
        try:
            await _first_of(live.terminal.wait(), live.stream_done.wait())
            if live.stream_started and not live.stream_done.is_set():
                live.bridge.request_hangup()  # Twilio says the call is over: stop relaying
                await live.stream_done.wait()
            summary = live.summary or await live.bridge.close()
            if not live.terminal.is_set():
                await self._settle_telephony(live)
            await self._end(live, summary)
        except Exception:
            log.exception("call supervisor failed", extra={"call_id": str(live.context.call_id)})
            with contextlib.suppress(Exception):
                await self._end(live, await live.bridge.close(), reason="bridge error")

    async def _settle_telephony(self, live: LiveCall) -> None:
        """The stream ended before Twilio's final status: close the line and learn how the call ended."""
        assert live.call_sid is not None
        wait = self.settings.final_status_wait_seconds
        if live.voicemail_left:
            wait = _VOICEMAIL_WAIT_SECONDS  # the voicemail TwiML is playing; it hangs up by itself
        else:
            try:
                await live.line.telephony.hang_up(live.call_sid)
            except TelephonyError as error:
                log.warning(
                    "hang-up failed", extra={"call_id": str(live.context.call_id), "error": str(error)}
                )
        if live.direction == "outbound":  # inbound calls carry no status callback of ours
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await live.terminal.wait()
                return
        try:
            status = await live.line.telephony.fetch_status(live.call_sid)
            await self._apply_status(live, status)
        except (TelephonyError, ValueError) as error:
            log.warning(
                "final status unknown", extra={"call_id": str(live.context.call_id), "error": str(error)}
            )

    async def _end(self, live: LiveCall, summary: CallSummary, *, reason: str | None = None) -> None:
        """Record the outcome and announce `call.ended`, once; release the line."""
        call_id = live.context.call_id
        self._slots.discard(call_id)
        if self._calls.pop(call_id, None) is None:
            return
        self.lines.release(live.line)
        if live.progress.outcome is not None:
            telephony = live.progress.outcome
        else:
            telephony = CallOutcome.ANSWERED if live.stream_started else CallOutcome.FAILED
        outcome = final_outcome(telephony, summary.outcome if live.stream_started else None)
        now = utcnow()
        transcript = summary.transcript if live.stream_started else []
        async with self.runtime.unit_of_work() as uow:
            current = await repo.get_session(uow.session, call_id, for_update=True)
            if current is None or current.status is SessionStatus.ENDED:
                return
            await repo.update_session(
                uow.session,
                call_id,
                status=SessionStatus.ENDED,
                ended_at=now,
                outcome=outcome,
                end_reason=(reason or summary.ended_reason.value)[:300],
                usage=dataclasses.asdict(summary.usage),
                estimated_cost_usd=summary.estimated_cost_usd,
            )
            started = current.started_at
            await uow.emit(
                CallEnded(
                    call_id=call_id,
                    lead_id=live.context.lead_id,
                    assigned_agent_id=live.context.assigned_agent_id,
                    task_id=live.context.task_id,
                    mode="phone",
                    outcome=outcome,
                    duration_seconds=0.0 if started is None else max(0.0, (now - started).total_seconds()),
                    transcript=transcript,
                    summary=_summary_line(outcome, live),
                    email_permission=summary.facts.email_saved is not None,
                )
            )
        self._hub.publish_ended(call_id, outcome=outcome, reason=reason or summary.ended_reason.value)

    # -- Twilio's webhooks --------------------------------------------------------------------

    async def verified(
        self,
        path: str,
        query: str,
        form: Sequence[tuple[str, str]],
        signature: str | None,
        call_id: uuid.UUID | None = None,
    ) -> bool:
        """Signed by Twilio for one of our lines: for a live call (`call_id`), the line it was placed on
        or the current one (an admin may have changed the auth token since); otherwise any line in use."""
        if not signature:
            return False
        live = self._calls.get(call_id) if call_id is not None else None
        if live is not None:
            trusted = distinct([live.line, *self.lines.known()])
        else:
            trusted = distinct([*self.lines.known(), *(call.line for call in self._calls.values())])

        def signed_for(lines: list[PhoneLine]) -> bool:
            return any(
                line.verifier.verify(path=path, query=query, form=form, signature=signature) for line in lines
            )

        if signed_for(trusted):
            return True
        # Perhaps signed with credentials this process has not read yet: the current line, refreshed.
        current = await self.lines.current_or_none()
        return current is not None and all(current is not line for line in trusted) and signed_for([current])

    async def on_status(self, call_id: uuid.UUID, form: Mapping[str, str]) -> bool:
        """A status callback; False when the call is not one of ours (the route answers 403)."""
        status = form.get("CallStatus", "")
        if (live := self._calls.get(call_id)) is not None:
            await self._apply_status(live, status)
            return True
        return await self._status_of_orphan(call_id, status)

    async def _apply_status(self, live: LiveCall, raw_status: str) -> None:
        transition = live.progress.apply_status(raw_status)  # UnknownCallStatus: the route says 400
        if not transition.changed:
            return
        async with self.runtime.unit_of_work() as uow:
            await uow.emit(_status_event(live, transition.phase))
            if transition.phase is CallPhase.IN_PROGRESS:
                await self._mark_connected(uow, live)
        if transition.release_slot:
            self._slots.discard(live.context.call_id)
        if transition.phase.terminal:
            live.terminal.set()

    async def _status_of_orphan(self, call_id: uuid.UUID, raw_status: str) -> bool:
        """A callback for a call this process does not carry: ended already, or a restart lost it."""
        async with self.runtime.unit_of_work() as uow:
            current = await repo.get_session(uow.session, call_id, for_update=True)
            if current is None or current.mode != "phone":
                return False
            if current.status is SessionStatus.ENDED:
                return True  # a late or repeated callback for a finished call changes nothing
            progress = CallProgress()
            if progress.apply_status(raw_status).phase.terminal:
                await _end_orphan(uow, current, progress.outcome or CallOutcome.FAILED)
        return True

    async def on_amd(self, call_id: uuid.UUID, form: Mapping[str, str]) -> bool:
        """The answering-machine verdict: a machine gets the voicemail, a fax is hung up on."""
        live = self._calls.get(call_id)
        if live is None:
            async with self.runtime.db.session() as session:
                return await repo.get_session(session, call_id) is not None
        answered_by = form.get("AnsweredBy", "")
        decision = live.progress.apply_amd(answered_by)  # UnknownCallStatus: the route says 400
        if decision.action is AmdAction.NONE:
            return True
        async with self.runtime.unit_of_work() as uow:
            await uow.emit(_status_event(live, live.progress.phase, decision.answered_by.value))
        await self._journal.record_event(
            live.context,
            EventLogEntry(
                at=utcnow(),
                source="twilio",
                direction="in",
                type="amd",
                data={"answered_by": decision.answered_by.value, "action": decision.action.value},
            ),
        )
        if decision.action is AmdAction.LEAVE_VOICEMAIL:
            await self._leave_voicemail(live)
        elif decision.action is AmdAction.HANG_UP and live.call_sid:
            await live.line.telephony.hang_up(live.call_sid)
        return True

    async def _leave_voicemail(self, live: LiveCall) -> None:
        """Replace the stream with a spoken voicemail (Twilio ends the stream, then hangs up after it)."""
        if live.call_sid is None:
            return
        link = await self.callback_links.issue(live.context.lead_id)
        message = voicemail_message(
            live.persona,
            first_name=first_name_of(live.lead.snapshot.name),
            callback_number=live.line.from_number,
            callback_short_url=link.short_url,
        )
        twiml = say_and_hang_up_twiml(message, language=live.persona.language)
        try:
            await live.line.telephony.play_voicemail(live.call_sid, twiml)
        except TelephonyError as error:  # includes the machine hanging up first
            log.warning(
                "voicemail not left", extra={"call_id": str(live.context.call_id), "error": str(error)}
            )
            return
        live.voicemail_left = True

    async def on_inbound(self, form: Mapping[str, str]) -> str:
        """A call to our number: a known lead gets the bot with their history; anyone else a polite note."""
        caller, call_sid = form.get("From", ""), form.get("CallSid", "")
        chosen = await self.persona_for(None)  # the default persona answers our number
        line = await self.lines.current_or_none()
        async with self.runtime.db.session() as session:
            lead = await repo.find_lead_by_phone(session, caller) if E164.match(caller) else None
            busy = len(self._slots) >= self.settings.max_concurrent_calls
            if lead is None or not call_sid or busy or line is None:
                lead = None
            else:
                previous = [
                    PreviousCall(
                        at=call.ended_at or call.created_at, outcome=call.outcome, summary=call.summary
                    )
                    for call in await repo.ended_calls(session, lead.id, MAX_PREVIOUS_CALLS)
                    if call.outcome is not None
                ]
                needs = await repo.known_needs(session, lead.id)
        if lead is None or line is None:
            return say_and_hang_up_twiml(
                f"Thank you for calling {chosen.persona.company}. We could not take your call right now; "
                "one of our team will call you back soon. Goodbye.",
                language=chosen.persona.language,
            )
        session_id = uuid.uuid4()
        async with self.runtime.unit_of_work() as uow:
            if await repo.session_by_call_sid(uow.session, call_sid) is not None:
                raise CallRefused("this call is already being answered", "duplicate_call")
            await repo.insert_session(
                uow.session,
                session_id=session_id,
                lead=lead,
                mode="phone",
                status=SessionStatus.DIALING,
                now=utcnow(),
                direction="inbound",
                twilio_call_sid=call_sid,
                persona_id=chosen.id,
            )
        instructions = build_instructions(
            chosen.persona,
            lead.snapshot,
            now=utcnow(),
            direction="inbound",
            previous_calls=previous,
            known_needs=needs,
        )
        live = self._open_call(session_id, lead, line, "inbound", None, chosen.persona, instructions)
        live.call_sid = call_sid
        self._spawn(self._supervise(live), f"call-{session_id}")
        return inbound_answer_twiml(self.urls.media_stream(), self.tokens.issue(session_id))

    # -- the media stream ---------------------------------------------------------------------

    async def serve_media(self, websocket: WebSocket) -> None:
        """Twilio's media websocket: only the holder of a call's unused, unexpired token gets a bridge."""
        await websocket.accept()
        try:
            start = await read_stream_start(websocket)
            call_id = await self.tokens.redeem(start.custom_parameters.get(STREAM_TOKEN_PARAMETER, ""))
        except (TwilioProtocolError, TokenRejected, WebSocketDisconnect) as error:
            log.warning("media stream refused", extra={"reason": type(error).__name__})
            with contextlib.suppress(Exception):
                await websocket.close(POLICY_VIOLATION)
            return
        live = self._calls.get(call_id)
        if live is None or live.stream_started or (live.call_sid and live.call_sid != start.call_sid):
            log.warning("media stream refused", extra={"call_id": str(call_id), "reason": "not a live call"})
            await websocket.close(POLICY_VIOLATION)
            return
        live.stream_started = True
        async with self.runtime.unit_of_work() as uow:
            await self._mark_connected(uow, live)
        try:
            live.summary = await live.bridge.run(websocket, start)
        finally:
            live.stream_done.set()

    async def _mark_connected(self, uow: UnitOfWork, live: LiveCall) -> None:
        if live.connected:
            return
        live.connected = True
        await repo.update_session(
            uow.session, live.context.call_id, status=SessionStatus.ACTIVE, started_at=utcnow()
        )
        await uow.emit(
            CallStarted(
                call_id=live.context.call_id,
                lead_id=live.context.lead_id,
                assigned_agent_id=live.context.assigned_agent_id,
                task_id=live.context.task_id,
                mode="phone",
                direction=live.direction,
            )
        )

    # -- agent actions and lifecycle ----------------------------------------------------------

    def hang_up(self, call_id: uuid.UUID) -> bool:
        """The agent stopped the call: end the stream (the supervisor hangs up the line). False if the
        call is not live in this process."""
        live = self._calls.get(call_id)
        if live is None:
            return False
        if live.stream_started:
            live.bridge.request_hangup()
        else:
            self._spawn(self._cancel_ringing(live), f"cancel-{call_id}")
        return True

    async def _cancel_ringing(self, live: LiveCall) -> None:
        if live.call_sid is not None:
            with contextlib.suppress(TelephonyError):
                await live.line.telephony.hang_up(live.call_sid)
        live.stream_done.set()  # nothing was streaming; the supervisor settles the final status

    async def recover_interrupted(self) -> None:
        """At start-up: calls a previous process was carrying have lost their audio bridge. End them
        FAILED, so the scheduler calls the lead again, and hang them up (in the background: the line may
        come from the admin settings, which can only be read once the bus has started)."""
        async with self.runtime.db.session() as session:
            orphans = await repo.unfinished_phone_sessions(session)
        for orphan in orphans:
            async with self.runtime.unit_of_work() as uow:
                await _end_orphan(uow, orphan, CallOutcome.FAILED)
        if call_sids := [orphan.twilio_call_sid for orphan in orphans if orphan.twilio_call_sid]:
            self._spawn(self._hang_up_orphans(call_sids), "hang-up-interrupted-calls")

    async def _hang_up_orphans(self, call_sids: list[str]) -> None:
        for _ in range(_BUS_WAIT_STEPS):
            if self.runtime.bus.connected:
                break
            await asyncio.sleep(0.1)
        line = await self.lines.current_or_none()
        if line is None:
            log.warning("interrupted calls not hung up: no phone line", extra={"calls": len(call_sids)})
            return
        for call_sid in call_sids:
            with contextlib.suppress(TelephonyError):
                await line.telephony.hang_up(call_sid)

    async def aclose(self) -> None:
        """Shutdown: hang up every live call and record it, then stop background work."""
        for live in list(self._calls.values()):
            self.hang_up(live.context.call_id)
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.final_status_wait_seconds + 5):
                    await asyncio.gather(*self._tasks, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await self.lines.aclose()

    def _spawn(self, work: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


CALLBACK_LINK_PATH = "/callback"


async def _insert_dialing(
    uow: UnitOfWork,
    session_id: uuid.UUID,
    lead: LeadRecord,
    *,
    task_id: uuid.UUID | None = None,
    created_by: uuid.UUID | None = None,
    persona_id: uuid.UUID | None = None,
) -> None:
    await repo.insert_session(
        uow.session,
        session_id=session_id,
        lead=lead,
        mode="phone",
        status=SessionStatus.DIALING,
        now=utcnow(),
        task_id=task_id,
        created_by=created_by,
        persona_id=persona_id,
    )


async def _end_orphan(uow: UnitOfWork, orphan: VoiceSession, outcome: CallOutcome) -> None:
    """End a call no process carries any more (its bridge died with a previous process)."""
    await repo.update_session(
        uow.session,
        orphan.id,
        status=SessionStatus.ENDED,
        ended_at=utcnow(),
        outcome=outcome,
        end_reason="the voice service restarted during the call",
    )
    await uow.emit(
        CallEnded(
            call_id=orphan.id,
            lead_id=orphan.lead_id,
            assigned_agent_id=orphan.agent_id,
            task_id=orphan.task_id,
            mode="phone",
            outcome=outcome,
        )
    )


async def _first_of(*waits: Awaitable[Any]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _summary_line(outcome: CallOutcome, live: LiveCall) -> str | None:
    if live.voicemail_left:
        return "Left a voicemail with our callback number and a callback link."
    if not live.stream_started:
        return f"The call was not answered ({outcome.value.lower().replace('_', ' ')})."
    return None
