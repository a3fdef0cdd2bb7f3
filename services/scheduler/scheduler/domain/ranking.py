"""Next best time: order candidate slots by what the lead's answer history says about each hour.

Candidates already come from the lead's windows (or the fallback hours), so the windows decide
*where* a call may go and the history decides *which* of those places first:
1. hours of the day (lead's local time) in which the lead picked up before, most pickups first,
   then fewest misses;
2. hours with no history, or fewer misses than `repeated_miss_threshold`;
3. hours that repeatedly went unanswered, fewest misses first.
Ties go to the earliest slot, so the order is total and deterministic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parley_contracts import CallOutcome, LeadSnapshot

from .errors import InvalidSettingsError, LeadNotCallableError
from .intervals import Interval, require_aware
from .windows import SlotPlanner
from .zones import load_zone

# Someone picked up: whatever they said, the hour works for reaching them.
REACHED_OUTCOMES = frozenset(
    {
        CallOutcome.ANSWERED,
        CallOutcome.CALLBACK_REQUESTED,
        CallOutcome.NOT_INTERESTED,
        CallOutcome.DO_NOT_CALL,
    }
)
# Nobody picked up. BUSY (the lead was on the phone) and FAILED (our side or the carrier) say
# nothing about whether the lead answers at that hour, so they count as neither.
MISSED_OUTCOMES = frozenset({CallOutcome.NO_ANSWER, CallOutcome.VOICEMAIL})


@dataclass(frozen=True, slots=True)
class PastAttempt:
    """One earlier call attempt: when it was placed and how it ended."""

    at: datetime
    outcome: CallOutcome

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "attempt time"))


@dataclass(frozen=True)
class RankingSettings:
    # Misses at an hour with no pickup before that hour drops below hours without history.
    repeated_miss_threshold: int = 2

    def __post_init__(self) -> None:
        if self.repeated_miss_threshold < 1:
            raise InvalidSettingsError("repeated_miss_threshold must be at least 1")


@dataclass(frozen=True, slots=True)
class HourRecord:
    reached: int = 0
    missed: int = 0


@dataclass(frozen=True, slots=True)
class RankedSlot:
    """A candidate slot with the evidence behind its rank (shown to agents as "why this time")."""

    slot: Interval
    local_hour: int
    record: HourRecord


def history_by_hour(history: Iterable[PastAttempt], timezone: str) -> dict[int, HourRecord]:
    """Pickups and misses per local hour of day (0-23) in the lead's timezone."""
    zone = load_zone(timezone)
    reached: defaultdict[int, int] = defaultdict(int)
    missed: defaultdict[int, int] = defaultdict(int)
    for attempt in history:
        hour = attempt.at.astimezone(zone).hour
        if attempt.outcome in REACHED_OUTCOMES:
            reached[hour] += 1
        elif attempt.outcome in MISSED_OUTCOMES:
            missed[hour] += 1
    return {hour: HourRecord(reached[hour], missed[hour]) for hour in reached.keys() | missed.keys()}


def rank_slots(
    slots: Iterable[Interval],
    history: Sequence[PastAttempt],
    timezone: str,
    settings: RankingSettings | None = None,
) -> list[RankedSlot]:
    """`slots` best first (see the module docstring for the order)."""
    settings = settings or RankingSettings()
    zone = load_zone(timezone)
    by_hour = history_by_hour(history, timezone)
    no_history = HourRecord()
    ranked = []
    for slot in slots:
        hour = slot.start.astimezone(zone).hour
        ranked.append(RankedSlot(slot, hour, by_hour.get(hour, no_history)))
    ranked.sort(key=lambda candidate: rank_key(candidate, settings))
    return ranked


def rank_key(ranked: RankedSlot, settings: RankingSettings) -> tuple[int, int, int, datetime]:
    """Sort key of one ranked slot (smaller is better); also orders slots of different leads."""
    record = ranked.record
    if record.reached:
        return (0, -record.reached, record.missed, ranked.slot.start)
    if record.missed < settings.repeated_miss_threshold:
        return (1, 0, 0, ranked.slot.start)
    return (2, 0, record.missed, ranked.slot.start)


def next_best_slot(
    lead: LeadSnapshot,
    *,
    planner: SlotPlanner,
    now: datetime,
    horizon: timedelta,
    history: Sequence[PastAttempt] = (),
    not_before: datetime | None = None,
    settings: RankingSettings | None = None,
) -> RankedSlot | None:
    """The best slot for the lead's next call in `[max(now, not_before), +horizon)`, or None.

    Raises `LeadNotCallableError` for a lead with do-not-disturb set: callers must never plan one.
    """
    if lead.consent_flags.dnd:
        raise LeadNotCallableError(f"lead {lead.id} has do-not-disturb set")
    start = require_aware(now, "now")
    if not_before is not None:
        start = max(start, require_aware(not_before, "not_before"))
    # Without history the order is chronological, so the first slot is all that is needed.
    candidates = planner.next_slots(
        lead.preferred_time_windows,
        lead.calling_zones(),
        now=start,
        horizon=horizon,
        limit=None if history else 1,
        country=lead.country,
    )
    ranked = rank_slots(candidates, history, lead.timezone, settings)
    return ranked[0] if ranked else None
