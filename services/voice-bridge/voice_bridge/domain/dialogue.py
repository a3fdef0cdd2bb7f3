"""The bot's brain when there is no language model: a deterministic dialogue policy for simulated calls.

It follows the same rules as the Realtime bot's prompt (spec 000 §6): it greets (disclosing recording
when the lead's consent flags say the call is recorded), asks the persona's needs questions in order,
asks permission before health or income, answers objections without pushing, accepts "not interested"
with an offer to check back later, honours "don't call me again" at once, collects an e-mail address
gently with permission, books a callback at a time the prospect names, looks products up once the
needs are known, settles an unsure timezone with one question, and ends politely. It never talks about
its instructions or other customers.

Side effects are not performed here. Each turn returns the reply plus `ToolAction`s, the very tool
calls the Realtime model makes, which the service runs through the same `ToolRunner` as on a phone
call; results come back through `tool_result`, like a `function_call_output` does for the model.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley_contracts import ExistingPolicy, LeadSnapshot, NeedsProfile, utcnow

from . import needs_capture
from .call import EndCallReason
from .callback_time import describe_time, parse_callback_time
from .intents import Intent, declines_to_answer, detect_intent
from .persona import DEFAULT_PERSONA, Persona, QualificationQuestion, QuestionTopic, first_name_of
from .spoken_email import find_email, spoken_email
from .timezone_question import TimezoneQuestion
from .tools import (
    ConfirmTimezoneArgs,
    EndCallArgs,
    LookupProductsArgs,
    MarkDoNotCallArgs,
    SaveEmailArgs,
    ScheduleFollowUpArgs,
    ToolName,
    ToolResult,
    ToolRunner,
)
from .utterance import Answer, normalize, yes_or_no

# A rehearsal that goes round in circles still ends.
_MAX_PROSPECT_TURNS = 40
# After this many objections the bot stops asking and offers to check back later instead.
_MAX_OBJECTIONS = 3
_LATER_FOLLOW_UP = timedelta(days=90)
_LATER_FOLLOW_UP_TIME = time(10)
_PRODUCTS_MENTIONED = 2
_WRAP_UP_ROUNDS = 2
_FREE_TEXT_LIMIT = 300
_NOTHING_MORE = re.compile(
    r"\b(that'?s (?:all|it|everything)|nothing(?: else)?|no more|i'?m good|all good|bye|goodbye)\b"
)
_NO_HEALTH_ISSUES = re.compile(r"\b(none|no conditions|nothing|healthy|fit and well|all good)\b")


class Stage(StrEnum):
    NOT_STARTED = "not_started"
    OPENING = "opening"
    QUESTION = "question"
    PERMISSION = "permission"
    LOOKING_UP = "looking_up"
    EMAIL_OFFER = "email_offer"
    EMAIL_CAPTURE = "email_capture"
    EMAIL_CONFIRM = "email_confirm"
    CALLBACK_TIME = "callback_time"
    CALLBACK_CONFIRM = "callback_confirm"
    FOLLOW_UP_OFFER = "follow_up_offer"
    TIMEZONE = "timezone"
    WRAP_UP = "wrap_up"
    ENDED = "ended"


_STAGES_ENDING_THEMSELVES = frozenset({Stage.WRAP_UP, Stage.CALLBACK_TIME, Stage.FOLLOW_UP_OFFER})
_CONFIRMING_STAGES = frozenset({Stage.EMAIL_CONFIRM, Stage.CALLBACK_CONFIRM})

ToolArguments = (
    LookupProductsArgs
    | SaveEmailArgs
    | ScheduleFollowUpArgs
    | EndCallArgs
    | MarkDoNotCallArgs
    | ConfirmTimezoneArgs
)


@dataclass(frozen=True)
class ToolAction:
    """A tool call for the service to run with `ToolRunner.run(action.name, action.arguments_json())`."""

    name: ToolName
    arguments: ToolArguments

    def arguments_json(self) -> str:
        return self.arguments.model_dump_json(by_alias=True, exclude_none=True)


@dataclass(frozen=True)
class BotTurn:
    text: str
    actions: tuple[ToolAction, ...] = ()

    @property
    def ends_call(self) -> bool:
        return any(action.name is ToolName.END_CALL for action in self.actions)


class DialogueEnded(RuntimeError):
    """The conversation is over; nothing more is said."""


_ACKNOWLEDGEMENTS = {
    QuestionTopic.DEPENDENTS: "Thank you, it's good to know who you'd want to look after.",
    QuestionTopic.AGE: "Thank you.",
    QuestionTopic.BUDGET: "That's helpful, thanks.",
    QuestionTopic.HEALTH: "Thank you for sharing that.",
    QuestionTopic.INCOME: "Thank you, that helps.",
    QuestionTopic.EXISTING_POLICY: "Thanks, that's good to know.",
    QuestionTopic.GOALS: "That makes a lot of sense.",
    QuestionTopic.URGENCY: "Understood.",
}


@dataclass
class _Turn:
    """What one reply is made of, assembled while the prospect's words are handled."""

    sentences: list[str] = field(default_factory=list)
    actions: list[ToolAction] = field(default_factory=list)

    def say(self, *sentences: str) -> None:
        self.sentences.extend(sentence for sentence in sentences if sentence)

    def result(self) -> BotTurn:
        return BotTurn(" ".join(self.sentences), tuple(self.actions))


class DialoguePolicy:
    """One simulated call's conversation. Call `opening()` once, then `reply()` per prospect message."""

    def __init__(
        self,
        lead: LeadSnapshot,
        *,
        persona: Persona = DEFAULT_PERSONA,
        direction: Literal["outbound", "inbound"] = "outbound",
        known_needs: NeedsProfile | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._persona = persona
        self._direction = direction
        self._clock = clock
        self._first_name = first_name_of(lead.name)
        self._zone = _zone(lead.timezone)
        self._discloses_recording = lead.consent_flags.call_recording
        self._email_opt_out = lead.consent_flags.email_opt_out
        self._email_on_file = lead.email
        self._needs = NeedsProfile()
        self._answered: set[QuestionTopic] = set()
        self._granted: set[QuestionTopic] = set()
        self._raw_answers: dict[QuestionTopic, str] = {}
        self._stage = Stage.NOT_STARTED
        self._question: QualificationQuestion | None = None
        self._attempts = 0
        self._objections = 0
        self._prospect_turns = 0
        self._wrap_up_rounds = 0
        self._pending_email: str | None = None
        self._pending_callback: datetime | None = None
        self._emailed: str | None = None
        # None when the lead's timezone is sure: then nothing is asked.
        self._timezone_question = TimezoneQuestion.for_lead(lead)
        self._timezone_asked = False
        # The zone the pending timezone question names; None while it asks for their city.
        self._timezone_named: str | None = None
        self._prefill(lead, known_needs)

    # -- public --------------------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self._stage

    @property
    def ended(self) -> bool:
        return self._stage is Stage.ENDED

    @property
    def needs(self) -> NeedsProfile:
        return self._needs.model_copy(deep=True)

    @property
    def raw_answers(self) -> dict[QuestionTopic, str]:
        """Answers kept as said: income (no needs field holds it) and answers the rules could not read."""
        return dict(self._raw_answers)

    def opening(self) -> BotTurn:
        if self._stage is not Stage.NOT_STARTED:
            raise RuntimeError("the opening is said once, at the start")
        turn = _Turn()
        company = self._persona.company
        if self._direction == "inbound":
            turn.say(
                f"Hi {self._first_name}, thanks for calling back! This is {self._persona.name}, "
                f"an AI assistant with {company}."
            )
        else:
            turn.say(self._persona.render_greeting(self._first_name))
        if self._discloses_recording:
            turn.say("Just so you know, this call is recorded for quality and training.")
        if self._direction == "inbound":
            turn.say("Shall we pick up where we left off? I just have a few quick questions.")
        else:
            turn.say(
                "I'm calling about the insurance information you asked us about.", self._opening_question()
            )
        self._stage = Stage.OPENING
        return turn.result()

    def reply(self, said: str) -> BotTurn:
        """The bot's answer to one prospect message."""
        if self._stage is Stage.ENDED:
            raise DialogueEnded("the call has ended")
        if self._stage is Stage.NOT_STARTED:
            raise RuntimeError("call opening() first")
        turn = _Turn()
        text = normalize(said)
        self._prospect_turns += 1
        if self._prospect_turns > _MAX_PROSPECT_TURNS:
            self._end(turn, "I've taken up plenty of your time, so I'll let you go.", EndCallReason.COMPLETED)
            return turn.result()
        if not text:
            turn.say("Sorry, I didn't catch that.", self._prompt())
            return turn.result()
        if not self._handle_intent(turn, detect_intent(text), text):
            self._handle_stage(turn, text, said)
        return turn.result()

    def tool_result(self, result: ToolResult) -> BotTurn | None:
        """What the bot says about a tool's result, if anything (None when there is nothing to add)."""
        if self._stage is Stage.ENDED:
            return None
        turn = _Turn()
        if result.name == ToolName.LOOKUP_PRODUCTS and self._stage is Stage.LOOKING_UP:
            self._present_products(turn, result)
        elif result.name == ToolName.SAVE_EMAIL and result.status == "invalid_arguments":
            self._emailed = None
            self._attempts = 0
            self._stage = Stage.EMAIL_CAPTURE
            turn.say("Hmm, that address doesn't seem to work.", "Could you spell it out for me once more?")
        elif result.name == ToolName.SAVE_EMAIL and result.status != "ok":
            self._emailed = None
            turn.say(
                "I'm sorry, I couldn't save your email address just now. One of our advisors will confirm it "
                "with you.",
                self._prompt(),
            )
        else:
            # Follow-ups and do-not-call are booked in the turn that ends the call, so a failure there
            # has nobody left to tell: the tool runner logs it and the service retries from the facts.
            return None
        return turn.result()

    def summary(self) -> str:
        """A short, factual summary of what the prospect said, for the call record."""
        return needs_summary(self._needs, dependents_known=QuestionTopic.DEPENDENTS in self._answered)

    # -- whole-conversation intents ------------------------------------------------------------

    def _handle_intent(self, turn: _Turn, intent: Intent | None, text: str) -> bool:
        """Handle what matters whatever the question was; False to let the stage handle the words."""
        if intent is Intent.DO_NOT_CALL:
            turn.actions.append(ToolAction(ToolName.MARK_DO_NOT_CALL, MarkDoNotCallArgs()))
            self._end(
                turn,
                "Of course. I've noted that, and we won't call you again. I'm sorry for the bother.",
                EndCallReason.DO_NOT_CALL,
            )
        elif intent is Intent.OFF_LIMITS:
            # Same answer for "what are your instructions" and "what did your other customers buy":
            # nothing about either is confirmed, denied or hinted at.
            turn.say(
                "I'm sorry, I can't help with that. I can only talk about your own cover.", self._prompt()
            )
        elif intent is Intent.ASKS_IF_BOT:
            turn.say(
                f"Yes, I'm an AI assistant calling for {self._persona.company}. If you'd rather speak with a "
                "person, one of our advisors can call you.",
                self._prompt(),
            )
        elif intent is Intent.ASKS_WHO:
            turn.say(
                f"This is {self._persona.name}, an AI assistant from {self._persona.company}. I'm calling about "
                "the insurance information you asked us about.",
                self._prompt(),
            )
        elif intent is Intent.NOT_INTERESTED and self._stage is not Stage.FOLLOW_UP_OFFER:
            self._needs.objections.append("not interested")
            turn.say("I completely understand, and thank you for telling me.")
            self._offer_later_follow_up(turn)
        elif intent is Intent.BUSY and self._stage not in {Stage.CALLBACK_TIME, Stage.CALLBACK_CONFIRM}:
            turn.say("No problem at all.")
            self._ask_callback_time(turn, text)
        elif intent is Intent.GOODBYE and self._says_goodbye_now(text):
            self._finish(turn)
        elif (
            intent in {Intent.TOO_EXPENSIVE, Intent.NEED_TO_THINK}
            and self._stage is not Stage.FOLLOW_UP_OFFER
        ):
            self._handle_objection(turn, intent)
        else:
            return False
        return True

    def _says_goodbye_now(self, text: str) -> bool:
        """A goodbye ends the call, except where the stage's own answer matters more: a "yes, bye" still
        confirms the e-mail or callback, and the wrap-up, callback and follow-up steps end it themselves."""
        if self._stage in _STAGES_ENDING_THEMSELVES:
            return False
        return not (self._stage in _CONFIRMING_STAGES and yes_or_no(text) is not None)

    def _handle_objection(self, turn: _Turn, intent: Intent) -> None:
        self._objections += 1
        if intent is Intent.TOO_EXPENSIVE:
            self._needs.objections.append("price")
            turn.say(
                "I completely understand, cost matters. There are plans at different price points, and there's "
                "no commitment at all."
            )
        else:
            self._needs.objections.append("needs time to think")
            turn.say("Of course, there's no decision to make today. Take all the time you need.")
        if self._objections >= _MAX_OBJECTIONS:
            turn.say("I don't want to take up more of your time.")
            self._offer_later_follow_up(turn)
            return
        if intent is Intent.TOO_EXPENSIVE and self._stage is Stage.QUESTION:
            budget = self._question_for(QuestionTopic.BUDGET)
            if budget is not None and QuestionTopic.BUDGET not in self._answered:
                self._ask(turn, budget)
                return
        if self._stage in {Stage.OPENING, Stage.QUESTION, Stage.PERMISSION}:
            turn.say(
                "If it's alright, I'll ask a couple more quick questions so anything I send you is relevant."
            )
        turn.say(self._prompt())

    # -- stages ----------------------------------------------------------------------------------

    def _handle_stage(self, turn: _Turn, text: str, said: str) -> None:
        handlers: dict[Stage, Callable[[_Turn, str, str], None]] = {
            Stage.OPENING: self._on_opening,
            Stage.QUESTION: self._on_question,
            Stage.PERMISSION: self._on_permission,
            Stage.LOOKING_UP: self._on_looking_up,
            Stage.EMAIL_OFFER: self._on_email_offer,
            Stage.EMAIL_CAPTURE: self._on_email_capture,
            Stage.EMAIL_CONFIRM: self._on_email_confirm,
            Stage.CALLBACK_TIME: self._on_callback_time,
            Stage.CALLBACK_CONFIRM: self._on_callback_confirm,
            Stage.FOLLOW_UP_OFFER: self._on_follow_up_offer,
            Stage.TIMEZONE: self._on_timezone,
            Stage.WRAP_UP: self._on_wrap_up,
        }
        handlers[self._stage](turn, text, said)

    def _on_opening(self, turn: _Turn, text: str, said: str) -> None:
        answer = yes_or_no(text)
        volunteered = self._capture_volunteered(text)
        if answer is Answer.NO and not volunteered:
            turn.say("No problem at all.")
            self._ask_callback_time(turn, text)
        elif answer is Answer.YES or volunteered:
            turn.say("Great, thank you.")
            self._ask_next(turn)
        elif self._attempts == 0:
            self._attempts += 1
            turn.say("Sorry, I didn't catch that.", self._opening_question())
        else:
            turn.say("I'll keep it brief.")
            self._ask_next(turn)

    def _on_question(self, turn: _Turn, text: str, said: str) -> None:
        question = self._current_question()
        if self._capture(question.topic, text, said):
            self._capture_volunteered(text)
            turn.say(self._acknowledge(question.topic))
            self._ask_next(turn)
        elif declines_to_answer(text):
            self._answered.add(question.topic)
            turn.say("No problem at all.")
            self._ask_next(turn)
        elif self._attempts == 0:
            self._attempts += 1
            self._capture_volunteered(text)
            turn.say("Sorry, I didn't quite catch that.", question.text)
        else:
            # Twice unclear: move on rather than interrogate; the transcript keeps what was said.
            self._answered.add(question.topic)
            self._raw_answers[question.topic] = said.strip()[:_FREE_TEXT_LIMIT]
            turn.say("Thanks.")
            self._ask_next(turn)

    def _on_permission(self, turn: _Turn, text: str, said: str) -> None:
        question = self._current_question()
        answer = yes_or_no(text)
        if answer is Answer.YES and not declines_to_answer(text):
            self._granted.add(question.topic)
            self._ask(turn, question, preface="Thank you.")
        elif answer is Answer.NO or declines_to_answer(text) or self._attempts > 0:
            # Never assumed: anything short of a clear yes, asked twice, is a no.
            self._answered.add(question.topic)
            turn.say("Of course, we'll skip that.")
            self._ask_next(turn)
        else:
            self._attempts += 1
            turn.say("Sorry, would you be comfortable with that? It's completely fine to say no.")

    def _on_looking_up(self, turn: _Turn, text: str, said: str) -> None:
        turn.say("Just a moment, I'm checking the plans for you.")

    def _on_email_offer(self, turn: _Turn, text: str, said: str) -> None:
        if address := find_email(said):
            self._confirm_email(turn, address)
            return
        answer = yes_or_no(text)
        if answer is Answer.YES and self._email_on_file:
            self._save_email(
                turn, self._email_on_file, "Wonderful, I'll send the details to the address we have on file."
            )
        elif answer is Answer.YES:
            self._stage, self._attempts = Stage.EMAIL_CAPTURE, 0
            turn.say("Great. What's the best email address for you?")
        elif answer is Answer.NO or self._attempts > 0:
            turn.say("No problem at all, I won't send anything by email.")
            self._wrap_up(turn)
        else:
            self._attempts += 1
            turn.say("Sorry, I didn't catch that.", self._email_offer_question())

    def _on_email_capture(self, turn: _Turn, text: str, said: str) -> None:
        if address := find_email(said):
            self._confirm_email(turn, address)
        elif yes_or_no(text) is Answer.NO or declines_to_answer(text):
            turn.say("No problem, we can sort that out another time.")
            self._wrap_up(turn)
        elif self._attempts == 0:
            self._attempts += 1
            turn.say(
                "Sorry, I didn't quite catch that. Could you say it again, maybe spelling it out? "
                "For example, john dot smith at example dot com."
            )
        else:
            turn.say("No worries, your advisor can get that from you later.")
            self._wrap_up(turn)

    def _on_email_confirm(self, turn: _Turn, text: str, said: str) -> None:
        address = find_email(said)
        if address and address != self._pending_email:
            self._confirm_email(turn, address)
            return
        answer = yes_or_no(text)
        if answer is Answer.YES and self._pending_email:
            self._save_email(turn, self._pending_email, "Perfect, I'll send the details to that address.")
        elif answer is Answer.NO:
            self._stage, self._attempts = Stage.EMAIL_CAPTURE, 0
            turn.say("Sorry about that! Could you say it once more, or spell it out for me?")
        else:
            turn.say(self._prompt())

    def _on_callback_time(self, turn: _Turn, text: str, said: str) -> None:
        if self._propose_callback(turn, text):
            return
        if yes_or_no(text) is Answer.NO or detect_intent(text) is Intent.GOODBYE or self._attempts > 0:
            # No time given: the scheduler tries again at the lead's preferred times.
            self._end(
                turn,
                f"No problem, we'll try you another time. Thank you, {self._first_name}.",
                EndCallReason.COMPLETED,
            )
        else:
            self._attempts += 1
            turn.say(
                "Sorry, I didn't catch a time. Could you give me a day and a rough time, like tomorrow afternoon?"
            )

    def _on_callback_confirm(self, turn: _Turn, text: str, said: str) -> None:
        if parse_callback_time(text, self._now()) not in {None, self._pending_callback}:
            self._propose_callback(turn, text)
            return
        answer = yes_or_no(text)
        if answer is Answer.YES and self._pending_callback is not None:
            at = self._pending_callback
            self._schedule(turn, at, "The prospect asked to be called back at this time.")
            self._end(
                turn,
                f"Great, I'll call you back {describe_time(at, self._now())}. Thank you, {self._first_name}.",
                EndCallReason.CALLBACK_REQUESTED,
            )
        elif answer is Answer.NO:
            self._stage, self._attempts = Stage.CALLBACK_TIME, 0
            turn.say("Sorry about that. What time would suit you better?")
        else:
            turn.say(self._prompt())

    def _on_follow_up_offer(self, turn: _Turn, text: str, said: str) -> None:
        requested = parse_callback_time(text, self._now())
        if requested is not None or (yes_or_no(text) is Answer.YES and detect_intent(text) is None):
            at = requested or self._later_follow_up()
            self._schedule(
                turn, at, "The prospect was not interested for now and agreed to a later check-in."
            )
            self._end(turn, "Thank you. We'll be in touch then.", EndCallReason.NOT_INTERESTED)
        else:
            # A no, or anything unclear: "not interested" is respected, never argued with.
            self._end(
                turn, f"Of course. Thank you for your time, {self._first_name}.", EndCallReason.NOT_INTERESTED
            )

    def _on_timezone(self, turn: _Turn, text: str, said: str) -> None:
        question = self._timezone_question
        assert question is not None, "the timezone stage is only entered with a question to ask"
        answer = yes_or_no(text)
        zone = question.settle(text)
        if zone is None and answer is Answer.YES:
            zone = self._timezone_named  # "yes" to "are you on Pacific time?"; None after "which city?"
        if zone is not None:
            arguments = ConfirmTimezoneArgs(timezone=zone, said=said.strip()[:_FREE_TEXT_LIMIT])
            turn.actions.append(ToolAction(ToolName.CONFIRM_TIMEZONE, arguments))
            turn.say(f"Thank you, I've noted {question.spoken(zone)}.")
        elif answer is Answer.NO and self._timezone_named is not None:
            # Not the zone we guessed, and no place said: one follow-up for the city, then never again.
            self._timezone_named = None
            turn.say("No problem.", self._prompt())
            return
        else:
            turn.say("No problem at all.")  # unsettled: the advisor can sort it out, the call goes on
        self._wrap_up(turn)

    def _on_wrap_up(self, turn: _Turn, text: str, said: str) -> None:
        if (
            yes_or_no(text) is Answer.NO
            or _NOTHING_MORE.search(text)
            or self._wrap_up_rounds >= _WRAP_UP_ROUNDS - 1
        ):
            self._finish(turn)
            return
        self._wrap_up_rounds += 1
        turn.say(
            "That's a good question. I'll make sure your advisor covers it when they follow up.",
            "Is there anything else I can help you with today?",
        )

    # -- steps -------------------------------------------------------------------------------------

    def _ask_next(self, turn: _Turn) -> None:
        question = next((q for q in self._persona.questions if q.topic not in self._answered), None)
        if question is None:
            self._look_up_products(turn)
        elif question.sensitive and question.topic not in self._granted:
            self._question, self._attempts, self._stage = question, 0, Stage.PERMISSION
            turn.say(question.permission_prompt())
        else:
            self._ask(turn, question)

    def _ask(self, turn: _Turn, question: QualificationQuestion, preface: str = "") -> None:
        self._question, self._attempts, self._stage = question, 0, Stage.QUESTION
        turn.say(preface, question.text)

    def _look_up_products(self, turn: _Turn) -> None:
        self._stage = Stage.LOOKING_UP
        turn.say("Thank you, that's really helpful. Let me check which of our plans could suit you.")
        turn.actions.append(ToolAction(ToolName.LOOKUP_PRODUCTS, LookupProductsArgs(needs=self.needs)))

    def _present_products(self, turn: _Turn, result: ToolResult) -> None:
        names = _product_names(result)[:_PRODUCTS_MENTIONED] if result.status == "ok" else []
        if len(names) == 2:
            turn.say(
                f"Based on what you've told me, {names[0]} and {names[1]} look like they could suit you."
            )
        elif names:
            turn.say(f"Based on what you've told me, {names[0]} looks like it could suit you.")
        elif result.status == "ok":
            turn.say(
                "I couldn't find a plan that fits quite right just now, so I'll ask one of our advisors to look into it."
            )
        else:
            turn.say(
                "I'm sorry, I can't pull up the plans right this moment. One of our advisors will follow up with the details."
            )
        if self._email_opt_out:
            self._wrap_up(turn)
        else:
            self._stage, self._attempts = Stage.EMAIL_OFFER, 0
            turn.say(self._email_offer_question())

    def _confirm_email(self, turn: _Turn, address: str) -> None:
        self._pending_email, self._stage = address, Stage.EMAIL_CONFIRM
        turn.say("Thanks! Let me read that back:", f"{spoken_email(address)}.", "Did I get that right?")

    def _save_email(self, turn: _Turn, address: str, confirmation: str) -> None:
        # Only ever after the prospect agreed to receive details by email: saving records that consent.
        turn.actions.append(ToolAction(ToolName.SAVE_EMAIL, SaveEmailArgs.model_validate({"email": address})))
        self._emailed = address
        turn.say(confirmation)
        self._wrap_up(turn)

    def _ask_callback_time(self, turn: _Turn, text: str) -> None:
        self._attempts = 0
        if not self._propose_callback(turn, text):
            self._stage = Stage.CALLBACK_TIME
            turn.say("When would be a better time for me to call you back?")

    def _propose_callback(self, turn: _Turn, text: str) -> bool:
        at = parse_callback_time(text, self._now())
        if at is None:
            return False
        self._pending_callback, self._stage = at, Stage.CALLBACK_CONFIRM
        turn.say(self._prompt())
        return True

    def _offer_later_follow_up(self, turn: _Turn) -> None:
        self._stage = Stage.FOLLOW_UP_OFFER
        turn.say(self._prompt())

    def _schedule(self, turn: _Turn, at: datetime, note: str) -> None:
        arguments = ScheduleFollowUpArgs.model_validate({"datetime": at, "note": note})
        turn.actions.append(ToolAction(ToolName.SCHEDULE_FOLLOW_UP, arguments))

    def _wrap_up(self, turn: _Turn) -> None:
        # An unsure timezone is asked about here, once the prospect's needs, the products and the e-mail
        # are done and before "anything else?": asked at the start it would delay what they agreed to
        # talk about, and a prospect who ends early (not interested, do not call) is not asked at all.
        if self._timezone_question is not None and not self._timezone_asked:
            self._timezone_asked, self._stage = True, Stage.TIMEZONE
            self._timezone_named = self._timezone_question.asked
            turn.say(self._timezone_question.question())
            return
        self._stage, self._wrap_up_rounds = Stage.WRAP_UP, 0
        turn.say(self._prompt())

    def _finish(self, turn: _Turn) -> None:
        emailed = " You'll get the details by email shortly." if self._emailed else ""
        self._end(
            turn, f"Thank you so much for your time, {self._first_name}.{emailed}", EndCallReason.COMPLETED
        )

    def _end(self, turn: _Turn, text: str, reason: EndCallReason) -> None:
        turn.say(text, "Have a lovely day. Goodbye!")
        turn.actions.append(ToolAction(ToolName.END_CALL, EndCallArgs(reason=reason)))
        self._stage = Stage.ENDED

    # -- needs -------------------------------------------------------------------------------------

    def _capture(self, topic: QuestionTopic, text: str, said: str) -> bool:
        """Record the answer to the question on `topic`; False if the words do not answer it."""
        needs = self._needs
        free_text = said.strip()[:_FREE_TEXT_LIMIT]
        if topic is QuestionTopic.COVERAGE and (types := needs_capture.coverage_types(text)):
            needs.coverage_type = types
        elif (
            topic is QuestionTopic.DEPENDENTS
            and (found := needs_capture.dependents(text, asked=True)) is not None
        ):
            needs.dependents = found
        elif topic is QuestionTopic.AGE and (years := needs_capture.age(text, asked=True)) is not None:
            needs.age = years
        elif topic is QuestionTopic.BUDGET and (budget := needs_capture.budget(text, asked=True)) is not None:
            needs.budget_range = budget
        elif topic is QuestionTopic.HEALTH and free_text and not declines_to_answer(text):
            no_issues = yes_or_no(text) is Answer.NO or _NO_HEALTH_ISSUES.search(text)
            needs.health_notes = "No health conditions mentioned." if no_issues else free_text
        elif topic is QuestionTopic.INCOME and free_text and not declines_to_answer(text):
            self._raw_answers[topic] = free_text
        elif topic is QuestionTopic.EXISTING_POLICY and (
            policy := needs_capture.existing_policy(text, free_text, asked=True)
        ):
            needs.existing_policy = policy
        elif topic is QuestionTopic.GOALS and (goals := needs_capture.goals(text)):
            needs.goals = goals
        elif topic is QuestionTopic.GOALS and len(text.split()) >= 3 and not declines_to_answer(text):
            needs.goals = [free_text]
        elif topic is QuestionTopic.URGENCY and (level := needs_capture.urgency(text)) is not None:
            needs.urgency = level
        else:
            return False
        self._answered.add(topic)
        return True

    def _capture_volunteered(self, text: str) -> bool:
        """Take needs the prospect mentioned before being asked, so they are not asked again.

        Only topics whose answers are unambiguous out of context, and never the sensitive ones.
        """
        captured = False
        needs = self._needs
        if QuestionTopic.COVERAGE not in self._answered and (types := needs_capture.coverage_types(text)):
            needs.coverage_type = types
            captured = self._mark(QuestionTopic.COVERAGE)
        if QuestionTopic.DEPENDENTS not in self._answered and (
            found := needs_capture.dependents(text, asked=False)
        ):
            needs.dependents = found
            captured = self._mark(QuestionTopic.DEPENDENTS)
        if (
            QuestionTopic.AGE not in self._answered
            and (years := needs_capture.age(text, asked=False)) is not None
        ):
            needs.age = years
            captured = self._mark(QuestionTopic.AGE)
        if QuestionTopic.BUDGET not in self._answered and (budget := needs_capture.budget(text, asked=False)):
            needs.budget_range = budget
            captured = self._mark(QuestionTopic.BUDGET)
        if QuestionTopic.URGENCY not in self._answered and (level := needs_capture.urgency(text)) is not None:
            needs.urgency = level
            captured = self._mark(QuestionTopic.URGENCY)
        return captured

    def _mark(self, topic: QuestionTopic) -> bool:
        self._answered.add(topic)
        return True

    def _prefill(self, lead: LeadSnapshot, known: NeedsProfile | None) -> None:
        """Skip what is already known: the lead's age and income band, and needs from earlier calls."""
        if lead.age is not None:
            self._needs.age = lead.age
            self._answered.add(QuestionTopic.AGE)
        if lead.income_band:
            self._answered.add(QuestionTopic.INCOME)
        if known is None:
            return
        self._needs = known.model_copy(deep=True, update={"objections": []})
        if lead.age is not None:
            self._needs.age = lead.age
        known_topics = {
            QuestionTopic.COVERAGE: bool(known.coverage_type),
            QuestionTopic.DEPENDENTS: bool(known.dependents),
            QuestionTopic.AGE: known.age is not None or lead.age is not None,
            QuestionTopic.BUDGET: known.budget_range is not None,
            QuestionTopic.HEALTH: known.health_notes is not None,
            QuestionTopic.EXISTING_POLICY: isinstance(known.existing_policy, ExistingPolicy),
            QuestionTopic.GOALS: bool(known.goals),
            QuestionTopic.URGENCY: known.urgency is not None,
        }
        self._answered.update(topic for topic, is_known in known_topics.items() if is_known)

    # -- wording -----------------------------------------------------------------------------------

    def _prompt(self) -> str:
        """The current question again, after a detour (an objection, a question from the prospect)."""
        if self._stage in {Stage.QUESTION, Stage.PERMISSION}:
            question = self._current_question()
            return question.text if self._stage is Stage.QUESTION else question.permission_prompt()
        if self._stage is Stage.EMAIL_OFFER:
            return self._email_offer_question()
        if self._stage is Stage.EMAIL_CONFIRM and self._pending_email:
            return f"Just to check, is it {spoken_email(self._pending_email)}?"
        if self._stage is Stage.CALLBACK_CONFIRM and self._pending_callback is not None:
            return f"Shall I call you back {describe_time(self._pending_callback, self._now())}, your time?"
        if self._stage is Stage.TIMEZONE and self._timezone_question is not None:
            if self._timezone_named is None:
                return "Which city are you in?"
            return f"Are you on {self._timezone_question.spoken(self._timezone_named)}?"
        prompts = {
            Stage.OPENING: self._opening_question(),
            Stage.LOOKING_UP: "I'm just checking the plans for you.",
            Stage.EMAIL_CAPTURE: "What's the best email address for you?",
            Stage.CALLBACK_TIME: "When would be a good time for me to call you back?",
            Stage.FOLLOW_UP_OFFER: "Would it be alright if we checked in with you in a few months, in case anything changes?",
            Stage.WRAP_UP: "Is there anything else I can help you with today?",
        }
        return prompts.get(self._stage, "")

    def _opening_question(self) -> str:
        return "Is now an OK time for a few quick questions?"

    def _email_offer_question(self) -> str:
        if self._email_on_file:
            return "Would it be alright if I emailed you the details, to the address we have on file?"
        return "Would you like me to email you the details, so you can look at them in your own time?"

    def _acknowledge(self, topic: QuestionTopic) -> str:
        if topic is QuestionTopic.COVERAGE:
            return f"Got it, {' and '.join(self._needs.coverage_type)} cover."
        if topic is QuestionTopic.DEPENDENTS and not self._needs.dependents:
            return "Understood, thank you."
        return _ACKNOWLEDGEMENTS[topic]

    def _current_question(self) -> QualificationQuestion:
        assert self._question is not None, "a question stage always has a current question"
        return self._question

    def _question_for(self, topic: QuestionTopic) -> QualificationQuestion | None:
        return next((question for question in self._persona.questions if question.topic is topic), None)

    def _now(self) -> datetime:
        return self._clock().astimezone(self._zone)

    def _later_follow_up(self) -> datetime:
        day = (self._now() + _LATER_FOLLOW_UP).date()
        while day.weekday() >= 5:  # a weekday morning, when people expect such a call
            day += timedelta(days=1)
        return datetime.combine(day, _LATER_FOLLOW_UP_TIME, self._zone)


def needs_summary(needs: NeedsProfile, *, dependents_known: bool) -> str:
    """What the prospect said about their needs, in short factual sentences (empty when nothing is known).

    `dependents_known`: an empty dependents list means "no dependents" rather than "not asked"."""
    parts: list[str] = []
    if needs.coverage_type:
        parts.append(f"Interested in {', '.join(needs.coverage_type)} cover.")
    if dependents_known or needs.dependents:
        relations = [dependent.relation for dependent in needs.dependents]
        parts.append(f"Dependents: {', '.join(relations)}." if relations else "No dependents.")
    if needs.age is not None:
        parts.append(f"Age {needs.age}.")
    if needs.budget_range is not None:
        budget = needs.budget_range
        amount = " to ".join(f"{value:g}" for value in (budget.min, budget.max) if value is not None)
        parts.append(f"Budget {amount} {budget.currency} {budget.period.value.lower()}.")
    if needs.existing_policy is not None:
        parts.append("Has existing cover." if needs.existing_policy.has_policy else "No existing cover.")
    if needs.goals:
        parts.append(f"Goals: {'; '.join(needs.goals)}.")
    if needs.urgency is not None:
        parts.append(f"Urgency {needs.urgency.value.lower()}.")
    if needs.objections:
        parts.append(f"Objections: {'; '.join(needs.objections)}.")
    return " ".join(parts)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _product_names(result: ToolResult) -> list[str]:
    """Product names from a lookupProducts output: only what the catalog returned is ever mentioned."""
    try:
        payload = json.loads(result.output)
    except json.JSONDecodeError:
        return []
    products = payload.get("products") if isinstance(payload, dict) else None
    if not isinstance(products, list):
        return []
    return [str(product["name"]) for product in products if isinstance(product, dict) and product.get("name")]


@dataclass(frozen=True)
class PerformedTurn:
    """A bot turn after its tool calls ran: everything the bot says, in order, and the tool results."""

    texts: tuple[str, ...]
    results: tuple[ToolResult, ...]

    @property
    def text(self) -> str:
        return " ".join(self.texts)


async def perform_turn(turn: BotTurn, policy: DialoguePolicy, runner: ToolRunner) -> PerformedTurn:
    """Run `turn`'s tool calls through the same `ToolRunner` a phone call uses, in order, feeding each
    result back to the policy; what the policy says about a result follows the turn's own words."""
    texts = [turn.text] if turn.text else []
    results: list[ToolResult] = []
    for action in turn.actions:
        result = await runner.run(action.name.value, action.arguments_json())
        results.append(result)
        if (follow_up := policy.tool_result(result)) is not None:
            performed = await perform_turn(follow_up, policy, runner)
            texts.extend(performed.texts)
            results.extend(performed.results)
    return PerformedTurn(tuple(texts), tuple(results))


class SimulatedBot(Protocol):
    """The bot of a simulated (text) call, as the service layer drives it: `opening()` once, then
    `respond()` per prospect message until `ended`; `summary()` for the call record at any time.

    `respond` runs the turn's tool calls (through the call's `ToolRunner`) and never raises for a tool
    or model failure: the bot apologises and the call goes on."""

    @property
    def ended(self) -> bool: ...

    def opening(self) -> BotTurn: ...

    async def respond(self, said: str) -> PerformedTurn: ...

    def summary(self) -> str: ...


class PolicyBot:
    """The offline bot: the deterministic `DialoguePolicy`, its tool calls run by `perform_turn`."""

    def __init__(self, policy: DialoguePolicy, runner: ToolRunner) -> None:
        self.policy = policy
        self._runner = runner

    @property
    def ended(self) -> bool:
        return self.policy.ended

    def opening(self) -> BotTurn:
        return self.policy.opening()

    async def respond(self, said: str) -> PerformedTurn:
        # In a worker thread: reading a place name loads the GeoNames index on first use (a second or
        # two of CPU), which must not stall the phone calls this process is bridging meanwhile.
        turn = await asyncio.to_thread(self.policy.reply, said)
        return await perform_turn(turn, self.policy, self._runner)

    def summary(self) -> str:
        return self.policy.summary()
