"""Slot planning benchmark: the next call slots of 100k leads (target: under 5 s on 2 cores).

    .venv/bin/python bench/scheduler_plan.py [--leads 100000] [--limit 5] [--horizon-days 7] [--seed 7]

Synthetic leads spread over 40 IANA zones (DST north and south, +05:30, +05:45, +12:45, Lord Howe's
half-hour DST). Their windows mix what a console and a CSV import produce: no windows (fallback
hours), common presets, and free-form windows (random weekday sets, 30-minute grid, some crossing
midnight). Each lead is planned at its own "now" within the hour of a planning pass in March 2025,
when North America switches to summer time, over a 7-day horizon. Rows:
- mixed, cold: the mix above, every cache empty;
- mixed, warm: the same leads again (a later pass the same day);
- free-form only, cold: every lead with free-form windows, the worst case for the caches.
Building the leads (pydantic models) is not timed; planning is. Per-lead µs and slots/s use wall time.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from parley_contracts import TimeWindow
from scheduler.domain import WEEKDAYS, SlotPlanner, clear_plan_caches
from scheduler.domain.windows import windows_key

ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Mexico_City", "America/Bogota",
    "America/Sao_Paulo", "America/Santiago", "America/St_Johns", "Europe/London", "Europe/Dublin",
    "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Athens", "Europe/Istanbul", "Europe/Moscow",
    "Africa/Lagos", "Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Tehran", "Asia/Karachi",
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Singapore", "Asia/Shanghai",
    "Asia/Tokyo", "Australia/Perth", "Australia/Adelaide", "Australia/Sydney", "Australia/Lord_Howe",
    "Pacific/Auckland", "Pacific/Chatham",
]  # fmt: skip
WORKWEEK = ["MON", "TUE", "WED", "THU", "FRI"]
PRESETS: list[list[TimeWindow]] = [
    [TimeWindow(days=WORKWEEK, start="09:00", end="12:00")],
    [TimeWindow(days=WORKWEEK, start="17:30", end="20:30")],
    [TimeWindow(days=WORKWEEK, start="12:00", end="14:00")],
    [TimeWindow(days=["SAT", "SUN"], start="10:00", end="16:00")],
    [
        TimeWindow(days=WORKWEEK, start="09:00", end="12:00"),
        TimeWindow(days=["SAT"], start="10:00", end="13:00"),
    ],
    [TimeWindow(days=["MON", "WED", "FRI"], start="18:00", end="21:00")],
    [TimeWindow(days=[*WORKWEEK, "SAT", "SUN"], start="08:00", end="21:00")],
    [TimeWindow(days=["TUE", "THU"], start="19:00", end="23:00")],
]
PASS_START = datetime(2025, 3, 7, 14, tzinfo=UTC)  # Friday; US clocks change on Sunday the 9th


@dataclass(frozen=True)
class Lead:
    windows: list[TimeWindow]
    timezone: str
    now: datetime


def clock(quarter_hours: int) -> str:
    return f"{quarter_hours // 4 % 24:02d}:{quarter_hours % 4 * 15:02d}"


def free_form_windows(rng: random.Random) -> list[TimeWindow]:
    windows = []
    for _ in range(rng.randint(1, 3)):
        days = sorted(rng.sample(WEEKDAYS, rng.randint(1, 7)), key=WEEKDAYS.index)
        start = rng.randrange(6 * 4, 23 * 4, 2)
        end = start + rng.randrange(2, 6 * 4 + 1, 2)
        windows.append(TimeWindow(days=days, start=clock(start), end="24:00" if end == 96 else clock(end)))
    return windows


def make_leads(count: int, rng: random.Random, free_form_only: bool) -> list[Lead]:
    leads = []
    for _ in range(count):
        roll = rng.random()
        if free_form_only or roll >= 0.70:
            windows = free_form_windows(rng)
        elif roll < 0.25:
            windows = []
        else:
            windows = rng.choice(PRESETS)
        now = PASS_START + timedelta(seconds=rng.uniform(0, 3600))
        leads.append(Lead(windows, rng.choice(ZONES), now))
    return leads


@dataclass(frozen=True)
class Row:
    scenario: str
    leads: int
    shapes: int
    seconds: float
    cpu_seconds: float
    slots: int


def plan(scenario: str, leads: list[Lead], planner: SlotPlanner, limit: int, horizon: timedelta) -> Row:
    started, cpu_started = time.perf_counter(), time.process_time()
    slots = 0
    for lead in leads:
        slots += len(
            planner.next_slots(lead.windows, lead.timezone, now=lead.now, horizon=horizon, limit=limit)
        )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    shapes = len({(windows_key(lead.windows), lead.timezone) for lead in leads})
    return Row(scenario, len(leads), shapes, seconds, cpu_seconds, slots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=5, help="next slots planned per lead")
    parser.add_argument("--horizon-days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    horizon = timedelta(days=args.horizon_days)
    planner = SlotPlanner()
    mixed = make_leads(args.leads, rng, free_form_only=False)
    free_form = make_leads(args.leads, rng, free_form_only=True)

    rows = []
    clear_plan_caches()
    rows.append(plan("mixed, cold", mixed, planner, args.limit, horizon))
    rows.append(plan("mixed, warm", mixed, planner, args.limit, horizon))
    clear_plan_caches()
    rows.append(plan("free-form only, cold", free_form, planner, args.limit, horizon))

    print(
        f"next {args.limit} slots per lead, {args.horizon_days}-day horizon, {len(ZONES)} zones, 15-min slots"
    )
    load_1m, _, _ = os.getloadavg()
    print(f"total s is wall-clock time, cpu s this process's CPU time; host load average {load_1m:.1f}")
    header = (
        f"{'scenario':<22}{'leads':>9}{'(windows, tz)':>15}{'total s':>9}{'cpu s':>7}"
        f"{'µs/lead':>9}{'slots':>9}{'slots/s':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:<22}{row.leads:>9,}{row.shapes:>15,}{row.seconds:>9.2f}{row.cpu_seconds:>7.2f}"
            f"{row.seconds / row.leads * 1e6:>9.1f}{row.slots:>9,}{row.slots / row.seconds:>11,.0f}"
        )


if __name__ == "__main__":
    main()
