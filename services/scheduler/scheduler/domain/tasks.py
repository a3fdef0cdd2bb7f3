"""Call tasks: their kinds, states and order, and why a lead's automatic dialing has stopped.

Rules the service layer keeps (documented here, with the vocabulary they use):
- a lead has at most one pending *automatic* task (AUTO from its windows, or RETRY after a miss);
  a newer decision replaces it;
- while a CALLBACK is pending, automatic planning is suspended: the lead named a time;
- DND and DO_NOT_CALL cancel every pending task; other stops end only the system-planned ones
  (AUTO, RETRY, CALLBACK) and leave tasks people booked (MANUAL);
- only PENDING tasks are canceled or moved; a DISPATCHED task's call is under way and its outcome
  decides what happens next.
"""

from __future__ import annotations

from enum import StrEnum

from .outcomes import StopReason


class TaskKind(StrEnum):
    AUTO = "AUTO"
    MANUAL = "MANUAL"
    CALLBACK = "CALLBACK"
    RETRY = "RETRY"


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    DISPATCHED = "DISPATCHED"
    DONE = "DONE"
    CANCELED = "CANCELED"
    MISSED = "MISSED"


AUTOMATIC_KINDS = frozenset({TaskKind.AUTO, TaskKind.RETRY})
SYSTEM_PLANNED_KINDS = frozenset({TaskKind.AUTO, TaskKind.RETRY, TaskKind.CALLBACK})
# Agents are reminded of appointments: times a person asked for or booked.
REMINDED_KINDS = frozenset({TaskKind.MANUAL, TaskKind.CALLBACK})

# Higher is dialed first among due tasks: a time the lead asked for, then a person's booking, then
# a retry of a lead already tried, then a first attempt.
PRIORITY: dict[TaskKind, int] = {
    TaskKind.CALLBACK: 30,
    TaskKind.MANUAL: 20,
    TaskKind.RETRY: 10,
    TaskKind.AUTO: 0,
}


class DialingStop(StrEnum):
    """Why a lead gets no further automatic (AUTO/RETRY) attempts."""

    COMPLETED = "COMPLETED"
    NOT_INTERESTED = "NOT_INTERESTED"
    MAX_ATTEMPTS = "MAX_ATTEMPTS"
    NO_CALLABLE_TIME = "NO_CALLABLE_TIME"
    # The number leaves several zones (or none) possible and no time is legal in all of them.
    TIMEZONE_NEEDED = "TIMEZONE_NEEDED"
    DND = "DND"
    DO_NOT_CALL = "DO_NOT_CALL"
    CANCELED = "CANCELED"


# Automatic dialing resumes when the reason goes away: consent is given again, or new windows or a
# new (or settled) timezone leave callable time. The others are final; agents can still book MANUAL tasks.
RESUMABLE_STOPS = frozenset(
    {DialingStop.DND, DialingStop.DO_NOT_CALL, DialingStop.NO_CALLABLE_TIME, DialingStop.TIMEZONE_NEEDED}
)
# Stops that only a change of the lead's windows, zones or country can lift.
TIMING_STOPS = frozenset({DialingStop.NO_CALLABLE_TIME, DialingStop.TIMEZONE_NEEDED})

STOP_FOR_REASON: dict[StopReason, DialingStop] = {
    StopReason.NOT_INTERESTED: DialingStop.NOT_INTERESTED,
    StopReason.DO_NOT_CALL: DialingStop.DO_NOT_CALL,
    StopReason.DND: DialingStop.DND,
    StopReason.MAX_ATTEMPTS: DialingStop.MAX_ATTEMPTS,
    StopReason.NO_CALLABLE_TIME: DialingStop.NO_CALLABLE_TIME,
}
