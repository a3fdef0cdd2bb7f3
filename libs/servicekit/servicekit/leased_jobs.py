"""Leased jobs: rows of a service's table that a background worker takes one at a time, safely on
any number of replicas.

A job table has `id`, `next_attempt_at` and `claim_token` columns. A claim is a conditional UPDATE
that sets a fresh token and pushes `next_attempt_at` one lease ahead: of two replicas racing for a
row one wins, and a worker that dies leaves the row due again once its lease has passed. An outcome
is written only while the token still matches, so a worker that was overtaken writes nothing.
Retrying is an outcome like any other: the row stays claimable with a later `next_attempt_at`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from .db import Database

log = logging.getLogger("servicekit.leased_jobs")

# How many due rows one claim looks at: enough to get past the few that racing replicas take first.
_CANDIDATES = 10


class LeasedJobs:
    """How the jobs of one table are claimed, finished and handed back.

    claimable: rows a claim may take once due (e.g. queued ones, and ones left by a dead worker).
    claimed: what a row still matches while claimed, until its outcome is written.
    on_claim: values a claim also writes (e.g. a status, `attempts + 1`).
    on_hand_back: values that undo `on_claim` when an interrupted job is handed back.
    stamp_column: a column set to the time of every claim and outcome (e.g. "updated_at").
    """

    def __init__(
        self,
        table: sa.Table,
        *,
        claimable: sa.ColumnElement[bool],
        claimed: sa.ColumnElement[bool],
        on_claim: Mapping[str, Any] | None = None,
        on_hand_back: Mapping[str, Any] | None = None,
        stamp_column: str | None = None,
    ) -> None:
        self.table = table
        self._claimable = claimable
        self._claimed = claimed
        self._on_claim = dict(on_claim or {})
        self._on_hand_back = dict(on_hand_back or {})
        self._stamp_column = stamp_column

    def _stamped(self, values: Mapping[str, Any], stamp: datetime) -> dict[str, Any]:
        return {**values, self._stamp_column: stamp} if self._stamp_column else dict(values)

    async def claim_due(self, session: AsyncSession, lease: timedelta) -> dict[str, Any] | None:
        """Take the most overdue job for `lease`; its row (with `claim_token`), or None when none is due."""
        t = self.table
        stamp = datetime.now(UTC)
        due = sa.and_(self._claimable, t.c.next_attempt_at <= stamp)
        candidates = await session.scalars(
            sa.select(t.c.id).where(due).order_by(t.c.next_attempt_at).limit(_CANDIDATES)
        )
        for job_id in candidates.all():
            values = self._stamped(self._on_claim, stamp)
            claim = sa.update(t).where(t.c.id == job_id, due)
            result = await session.execute(
                claim.values(claim_token=str(uuid.uuid4()), next_attempt_at=stamp + lease, **values)
            )
            # Zero rows: another replica claimed it between the select and the update.
            if result.rowcount == 1:  # type: ignore[attr-defined]
                row = (await session.execute(sa.select(t).where(t.c.id == job_id))).mappings().one()
                return dict(row)
        return None

    async def finish(self, session: AsyncSession, job_id: str, claim_token: str, **values: Any) -> bool:
        """Write a job's outcome and release it, if the claim still holds (False: it was taken over)."""
        t = self.table
        result = await session.execute(
            sa.update(t)
            .where(t.c.id == job_id, t.c.claim_token == claim_token, self._claimed)
            .values(claim_token=None, **self._stamped(values, datetime.now(UTC)))
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def hand_back(self, session: AsyncSession, job_id: str, claim_token: str) -> bool:
        """Make an interrupted job due again now, as if it had not been claimed."""
        return await self.finish(
            session, job_id, claim_token, next_attempt_at=datetime.now(UTC), **self._on_hand_back
        )


class LeasedJobWorker(ABC):
    """A background task that works through due jobs, one claim at a time.

    It wakes on `kick()` and otherwise every `poll_seconds`. Stopped in the middle of a job, it hands
    the job back at once rather than leaving it to wait for its lease.

    `concurrency` runs that many such loops in the process, each claiming its own jobs exactly as
    replicas do; `process` (and `begin_pass`) then run for several jobs at once, so per-job state
    belongs in local variables, not on the worker.
    """

    def __init__(
        self,
        db: Database,
        jobs: LeasedJobs,
        *,
        name: str,
        lease: timedelta,
        poll_seconds: float,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("a worker needs at least one loop")
        self.db = db
        self.jobs = jobs
        self.name = name
        self.concurrency = concurrency
        self._lease = lease
        self._poll_seconds = poll_seconds
        self._wakes = [asyncio.Event() for _ in range(concurrency)]
        self._tasks: list[asyncio.Task[None]] = []
        # The job each loop is working on, until its outcome is written.
        self._current: dict[int, dict[str, Any]] = {}

    @abstractmethod
    async def process(self, job: dict[str, Any]) -> None:
        """Work on a claimed job and write its outcome with `self.jobs.finish(...)`."""

    async def begin_pass(self) -> None:  # noqa: B027 (an optional hook: doing nothing is its default)
        """Runs once a pass has claimed its first job, before working on it (an idle pass skips it)."""

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(
                self._run(loop), name=self.name if self.concurrency == 1 else f"{self.name}-{loop}"
            )
            for loop in range(self.concurrency)
        ]

    async def stop(self) -> None:
        if not self._tasks:
            return
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        interrupted, self._current = list(self._current.values()), {}
        if interrupted:
            async with self.db.transaction() as session:
                for job in interrupted:
                    await self.jobs.hand_back(session, job["id"], job["claim_token"])

    def kick(self) -> None:
        for wake in self._wakes:
            wake.set()

    def kick_after_commit(self, session: AsyncSession) -> None:
        """Wake the worker once the transaction that queued a job has committed."""
        sa.event.listen(session.sync_session, "after_commit", lambda _session: self.kick(), once=True)

    async def run_due(self, loop: int = 0) -> int:
        """Work through every job due now (as loop number `loop`); returns how many were taken."""
        taken = 0
        while True:
            # One at a time: a claim's lease only has to cover one job, however slow it is.
            async with self.db.transaction() as session:
                job = await self.jobs.claim_due(session, self._lease)
            if job is None:
                return taken
            # Remembered until its outcome is written, so `stop()` can hand back an interrupted job.
            self._current[loop] = job
            if taken == 0:
                await self.begin_pass()
            await self.process(job)
            self._current.pop(loop, None)
            taken += 1

    async def _run(self, loop: int) -> None:
        wake = self._wakes[loop]
        while True:
            try:
                taken = await self.run_due(loop)
            except Exception:
                log.exception("%s: pass failed; retrying", self.name)
                taken = 0
            if taken == 0:
                wake.clear()
                # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancel that lands as the wake-up
                # fires, and `stop()` would then wait for ever on a task that keeps polling.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_seconds):
                        await wake.wait()
