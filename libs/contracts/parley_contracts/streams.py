"""JetStream stream definitions: one stream per owning domain, limits retention.

Subjects here are bare; the bus prefixes them with the deployment namespace (`BUS_NAMESPACE`)
so several environments (or test runs) can share one NATS server without seeing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

DUPLICATE_WINDOW_SECONDS = 15 * 60
MAX_AGE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_seconds: int = MAX_AGE_SECONDS
    duplicate_window_seconds: int = DUPLICATE_WINDOW_SECONDS


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("LEADS", ("lead.>",)),
    StreamSpec("CATALOG", ("catalog.>",)),
    StreamSpec("CALLS", ("call.>", "followup.>")),
    StreamSpec("TASKS", ("task.>",)),
    StreamSpec("AI", ("needs.>", "recommendations.>")),
    StreamSpec("DOCUMENTS", ("prospectus.>", "email.>")),
    StreamSpec("AUDIT", ("audit.>",)),
    # Messages a consumer gave up on: dlq.<consumer>.<original subject>, kept for inspection/replay.
    StreamSpec("DLQ", ("dlq.>",), max_age_seconds=90 * 24 * 3600),
)


def stream_for(subject: str) -> StreamSpec:
    for spec in STREAMS:
        for pattern in spec.subjects:
            if subject == pattern.removesuffix(".>") or subject.startswith(pattern.removesuffix(">")):
                return spec
    raise KeyError(f"no stream holds subject {subject!r}")
