"""The call status state machine and the concurrency slots it releases."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parley_contracts import CallOutcome, CallStatusChanged
from voice_bridge.domain.call_slots import CallSlots
from voice_bridge.domain.call_state import (
    AmdAction,
    CallPhase,
    CallProgress,
    UnknownCallStatus,
    final_outcome,
)

PROGRESS = ["queued", "initiated", "ringing", "in-progress"]
TERMINAL = ["completed", "busy", "no-answer", "failed", "canceled"]


def test_happy_path_moves_forward_and_releases_on_completion() -> None:
    call = CallProgress()
    transitions = [
        call.apply_status(status) for status in ["initiated", "ringing", "in-progress", "completed"]
    ]
    assert [t.phase for t in transitions] == [
        CallPhase.INITIATED,
        CallPhase.RINGING,
        CallPhase.IN_PROGRESS,
        CallPhase.COMPLETED,
    ]
    assert all(t.changed for t in transitions)
    assert [t.release_slot for t in transitions] == [False, False, False, True]
    assert transitions[-1].outcome is CallOutcome.ANSWERED
    assert call.terminal


def test_answered_event_name_means_in_progress() -> None:
    call = CallProgress()
    assert call.apply_status("answered").phase is CallPhase.IN_PROGRESS
    assert call.answered


def test_late_ringing_after_answer_is_ignored() -> None:
    call = CallProgress()
    call.apply_status("in-progress")
    late = call.apply_status("ringing")
    assert not late.changed and late.phase is CallPhase.IN_PROGRESS


def test_duplicate_callbacks_change_nothing_and_release_once() -> None:
    call = CallProgress()
    assert call.apply_status("ringing").changed
    assert not call.apply_status("ringing").changed
    assert call.apply_status("busy").release_slot
    duplicate = call.apply_status("busy")
    assert not duplicate.changed and not duplicate.release_slot and duplicate.outcome is CallOutcome.BUSY


def test_first_terminal_status_is_final() -> None:
    call = CallProgress()
    call.apply_status("no-answer")
    later = call.apply_status("completed")
    assert later.phase is CallPhase.NO_ANSWER and not later.release_slot
    assert call.outcome is CallOutcome.NO_ANSWER


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("completed", CallOutcome.ANSWERED),
        ("busy", CallOutcome.BUSY),
        ("no-answer", CallOutcome.NO_ANSWER),
        ("failed", CallOutcome.FAILED),
        ("canceled", CallOutcome.NO_ANSWER),
    ],
)
def test_every_terminal_status_releases_the_slot(status: str, outcome: CallOutcome) -> None:
    call = CallProgress()
    call.apply_status("initiated")
    transition = call.apply_status(status)
    assert transition.release_slot and transition.outcome is outcome


def test_completed_without_an_answered_callback_still_counts_as_answered() -> None:
    call = CallProgress()
    call.apply_status("ringing")
    assert call.apply_status("completed").outcome is CallOutcome.ANSWERED
    assert call.answered


@pytest.mark.parametrize("raw", ["", "ringingg", "COMPLETED!", "voicemail"])
def test_unknown_status_is_an_error(raw: str) -> None:
    with pytest.raises(UnknownCallStatus):
        CallProgress().apply_status(raw)


def test_status_is_case_and_space_tolerant() -> None:
    assert CallProgress().apply_status(" Ringing ").phase is CallPhase.RINGING


def test_phase_values_fit_the_call_status_event() -> None:
    for phase in CallPhase:
        event = CallStatusChanged(call_id=uuid4(), lead_id=uuid4(), status=phase.telephony_status)
        assert event.status == phase.value


# -- answering machine detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    "verdict", ["machine_end_beep", "machine_end_silence", "machine_end_other", "machine_start"]
)
def test_machine_means_leave_a_voicemail_and_report_voicemail(verdict: str) -> None:
    call = CallProgress()
    call.apply_status("in-progress")
    assert call.apply_amd(verdict).action is AmdAction.LEAVE_VOICEMAIL
    assert call.apply_status("completed").outcome is CallOutcome.VOICEMAIL


@pytest.mark.parametrize("verdict", ["human", "unknown"])
def test_human_or_unknown_means_carry_on(verdict: str) -> None:
    call = CallProgress()
    call.apply_status("in-progress")
    assert call.apply_amd(verdict).action is AmdAction.CONTINUE
    assert call.apply_status("completed").outcome is CallOutcome.ANSWERED


def test_fax_is_hung_up_on_and_fails() -> None:
    call = CallProgress()
    assert call.apply_amd("fax").action is AmdAction.HANG_UP
    assert call.apply_status("completed").outcome is CallOutcome.FAILED


def test_amd_before_the_answered_callback_marks_the_call_answered() -> None:
    call = CallProgress()
    call.apply_status("ringing")
    call.apply_amd("human")
    assert call.answered


def test_duplicate_amd_verdict_does_nothing_the_second_time() -> None:
    call = CallProgress()
    call.apply_status("in-progress")
    assert call.apply_amd("machine_end_beep").action is AmdAction.LEAVE_VOICEMAIL
    repeat = call.apply_amd("machine_end_beep")
    assert repeat.action is AmdAction.NONE


def test_amd_after_the_call_ended_acts_on_nothing_but_refines_the_outcome() -> None:
    call = CallProgress()
    call.apply_status("in-progress")
    call.apply_status("completed")
    assert call.apply_amd("machine_end_silence").action is AmdAction.NONE
    assert call.outcome is CallOutcome.VOICEMAIL


def test_unknown_amd_value_is_an_error() -> None:
    with pytest.raises(UnknownCallStatus):
        CallProgress().apply_amd("robot")


# -- final outcome ---------------------------------------------------------------------------------


def test_conversation_outcome_only_refines_an_answered_call() -> None:
    assert final_outcome(CallOutcome.ANSWERED, CallOutcome.DO_NOT_CALL) is CallOutcome.DO_NOT_CALL
    assert final_outcome(CallOutcome.ANSWERED, None) is CallOutcome.ANSWERED
    assert final_outcome(CallOutcome.VOICEMAIL, CallOutcome.NOT_INTERESTED) is CallOutcome.VOICEMAIL
    assert final_outcome(CallOutcome.BUSY, CallOutcome.CALLBACK_REQUESTED) is CallOutcome.BUSY


# -- properties: any delivery order ----------------------------------------------------------------


@given(
    progress=st.lists(st.sampled_from(PROGRESS), max_size=8),
    terminal=st.sampled_from(TERMINAL),
    extra_terminals=st.lists(st.sampled_from(TERMINAL), max_size=3),
    data=st.data(),
)
def test_any_delivery_order_releases_exactly_once_and_never_moves_backwards(
    progress: list[str], terminal: str, extra_terminals: list[str], data: st.DataObject
) -> None:
    events = data.draw(st.permutations([*progress, terminal, *extra_terminals]))
    call = CallProgress()
    releases = 0
    ranks = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3}
    last_rank = 0
    for event in events:
        transition = call.apply_status(event)
        releases += transition.release_slot
        rank = 4 if transition.phase.terminal else ranks[transition.phase.value]
        assert rank >= last_rank
        last_rank = rank
    assert releases == 1
    first_terminal = next(event for event in events if event in TERMINAL)
    assert call.phase.value == first_terminal


# -- slots -------------------------------------------------------------------------------------------


def test_slots_refuse_beyond_capacity_and_free_on_release() -> None:
    slots = CallSlots(2)
    first, second, third = uuid4(), uuid4(), uuid4()
    assert slots.try_acquire(first) and slots.try_acquire(second)
    assert not slots.try_acquire(third)
    assert slots.release(first)
    assert not slots.release(first)  # idempotent: teardown paths overlap
    assert slots.try_acquire(third)
    assert (slots.in_use, slots.available) == (2, 0)


def test_reacquiring_a_held_slot_does_not_take_another() -> None:
    slots = CallSlots(1)
    call_id = uuid4()
    assert slots.try_acquire(call_id) and slots.try_acquire(call_id)
    assert slots.in_use == 1


def test_terminal_callbacks_free_every_slot() -> None:
    slots = CallSlots(5)
    calls = {uuid4(): CallProgress() for _ in range(5)}
    for call_id in calls:
        assert slots.try_acquire(call_id)
    for (call_id, progress), status in zip(calls.items(), TERMINAL, strict=True):
        progress.apply_status("ringing")
        for delivery in (status, status):  # Twilio retried the webhook
            if progress.apply_status(delivery).release_slot:
                slots.release(call_id)
    assert slots.in_use == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CallSlots(0)
