"""Property: whatever the number, windows and instant, no call the dialer would place (automatic,
retry, callback or manual) falls outside legal hours in any of the lead's candidate zones.

The planner works on compiled weekly patterns and offset tables; the oracle here is the direct
reading of the rules (`CallingRules.allows`: each zone's local wall clock, its country's row, its
public holidays), one instant at a time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from parley_calltime import CallingRulesSettings, derive_timezone
from parley_contracts import CallOutcome, LeadSnapshot, TimeWindow
from scheduler.domain import (
    Callback,
    PastAttempt,
    PlannerSettings,
    Retry,
    RetryPolicy,
    SlotPlanner,
    decide_after_call,
    next_best_slot,
    plan_callback,
)

RULES = CallingRulesSettings().calling_rules_table()
PLANNER = SlotPlanner(PlannerSettings(calling_rules=RULES))
POLICY = RetryPolicy(max_attempts=5, search_horizon=timedelta(days=14))
SPAN = PLANNER.settings.min_slot_length
WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
# Countries with their own rows (weekday splits, holidays), one-zone and many-zone numbering plans.
REGIONS = ["US", "CA", "GB", "FR", "DE", "ES", "IN", "AU", "NZ", "BR", "RU", "MX", "ID", "JP", "ZA", "KZ"]


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """A valid number of a random region: an example number with its last digits redrawn."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(region)
    national = str(example.national_number)
    keep = draw(st.integers(min_value=max(1, len(national) - 5), max_value=len(national)))
    tail = draw(st.text(alphabet="0123456789", min_size=len(national) - keep, max_size=len(national) - keep))
    candidate = phonenumbers.parse(f"+{example.country_code}{national[:keep]}{tail}")
    return phonenumbers.format_number(
        candidate if phonenumbers.is_valid_number(candidate) else example, phonenumbers.PhoneNumberFormat.E164
    )


clock_times = st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")
windows = st.lists(
    st.builds(
        lambda days, start, end: TimeWindow(days=sorted(days), start=start, end=end),
        st.sets(st.sampled_from(WEEKDAYS), min_size=1),
        clock_times,
        clock_times | st.just("24:00"),
    ).filter(lambda w: w.start != w.end),
    max_size=3,
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


def lead_for(phone: str, location: str | None, lead_windows: list[TimeWindow]) -> LeadSnapshot:
    decision = derive_timezone(phone=phone, location=location)
    return LeadSnapshot(
        id=uuid.uuid4(),
        name="Property",
        phone=phone,
        timezone=decision.timezone,
        timezone_source=decision.source,
        timezone_candidates=list(decision.candidates),
        country=decision.country,
        preferred_time_windows=lead_windows,
    )


def legal(lead: LeadSnapshot, at: datetime) -> bool:
    return RULES.allows(lead.country, lead.calling_zones(), at, SPAN)


common = {
    "phone": phone_numbers(),
    "location": st.sampled_from([None, None, "Perth", "Denver", "Lyon", "Novosibirsk", "Surabaya"]),
    "lead_windows": windows,
    "now": instants,
}


@settings(max_examples=120, deadline=None)
@given(**common)
def test_automatic_slots_are_legal_in_every_zone(phone, location, lead_windows, now) -> None:
    lead = lead_for(phone, location, lead_windows)
    best = next_best_slot(lead, planner=PLANNER, now=now, horizon=POLICY.search_horizon)
    if best is not None:
        assert now <= best.slot.start
        assert legal(lead, best.slot.start), (lead.calling_zones(), lead.country, best.slot)


@settings(max_examples=120, deadline=None)
@given(**common, outcome=st.sampled_from([CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL]))
def test_retries_are_legal_in_every_zone(phone, location, lead_windows, now, outcome) -> None:
    lead = lead_for(phone, location, lead_windows)
    decision = decide_after_call(
        outcome,
        attempt=1,
        lead=lead,
        now=now,
        planner=PLANNER,
        policy=POLICY,
        history=[PastAttempt(now, outcome)],
    )
    if isinstance(decision, Retry):
        assert legal(lead, decision.slot.start), (lead.calling_zones(), decision.slot)


@settings(max_examples=120, deadline=None)
@given(**common, asked=st.none() | st.integers(min_value=-3600, max_value=30 * 86_400))
def test_callbacks_are_legal_in_every_zone(phone, location, lead_windows, now, asked) -> None:
    lead = lead_for(phone, location, lead_windows)
    requested = None if asked is None else now + timedelta(seconds=asked)
    decision = plan_callback(requested, lead=lead, now=now, planner=PLANNER, policy=POLICY)
    if isinstance(decision, Callback):
        assert legal(lead, decision.at), (lead.calling_zones(), lead.country, decision.at)


@settings(max_examples=200, deadline=None)
@given(phone=phone_numbers(), location=common["location"], at=instants)
def test_the_dial_gate_never_opens_outside_legal_hours(phone, location, at) -> None:
    """The check every due task (manual ones included) passes right before it is dialled, and that a
    manual booking passes when it is made: it agrees with the oracle at every instant."""
    lead = lead_for(phone, location, [])
    intervals = PLANNER.calling_hours_intervals(
        lead.calling_zones(), now=at, horizon=SPAN, country=lead.country
    )
    gate_open = sum((i.duration for i in intervals), timedelta()) >= SPAN
    assert gate_open == legal(lead, at), (lead.calling_zones(), lead.country, at)
