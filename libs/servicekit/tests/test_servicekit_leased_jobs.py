"""Leased jobs on a real database: claims under a lease, outcomes only by the claim holder, take-over
after a lease, racing claimers, and the worker loop (wake-ups, hand-back on stop, failed passes)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from servicekit.bus import wait_for
from servicekit.db import Database, new_metadata
from servicekit.leased_jobs import LeasedJobs, LeasedJobWorker

pytestmark = pytest.mark.integration

metadata = new_metadata()
jobs_table = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim_token", sa.String(36), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
)

# Like a render queue: RUNNING while claimed, and a RUNNING job whose worker died is taken over.
jobs = LeasedJobs(
    jobs_table,
    claimable=jobs_table.c.status.in_(("QUEUED", "RUNNING")),
    claimed=jobs_table.c.status == "RUNNING",
    on_claim={"status": "RUNNING", "attempts": jobs_table.c.attempts + 1},
    on_hand_back={"status": "QUEUED", "attempts": jobs_table.c.attempts - 1},
    stamp_column="updated_at",
)

LEASE = timedelta(minutes=5)


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
async def db(make_tables_database) -> Database:
    return await make_tables_database("leased-jobs", metadata)


async def add_job(db: Database, *, due_in: timedelta = timedelta(0)) -> str:
    job_id = str(uuid.uuid4())
    async with db.transaction() as session:
        await session.execute(
            sa.insert(jobs_table).values(
                id=job_id, status="QUEUED", attempts=0, next_attempt_at=datetime.now(UTC) + due_in
            )
        )
    return job_id


async def row(db: Database, job_id: str) -> dict[str, Any]:
    async with db.session() as session:
        found = (await session.execute(sa.select(jobs_table).where(jobs_table.c.id == job_id))).mappings()
        return dict(found.one())


async def claim(db: Database, lease: timedelta = LEASE) -> dict[str, Any] | None:
    async with db.transaction() as session:
        return await jobs.claim_due(session, lease)


async def finish(db: Database, job: dict[str, Any], token: str | None = None, **values: Any) -> bool:
    async with db.transaction() as session:
        return await jobs.finish(session, job["id"], token or job["claim_token"], **values)


async def test_a_claim_takes_the_most_overdue_job_for_the_length_of_its_lease(db):
    later = await add_job(db, due_in=-timedelta(minutes=1))
    earliest = await add_job(db, due_in=-timedelta(hours=1))
    await add_job(db, due_in=timedelta(hours=1))
    before = datetime.now(UTC)

    first = await claim(db)
    assert first is not None and first["id"] == earliest
    assert first["status"] == "RUNNING" and first["attempts"] == 1 and first["claim_token"]
    assert utc(first["next_attempt_at"]) >= before + LEASE
    assert utc(first["updated_at"]) >= before

    second = await claim(db)
    assert second is not None and second["id"] == later
    assert await claim(db) is None, "the third job is not due, the others are leased"


async def test_only_the_holder_of_the_claim_writes_the_outcome(db):
    job_id = await add_job(db)
    job = await claim(db)
    assert job is not None

    assert not await finish(db, job, token=str(uuid.uuid4()), status="DONE")
    assert (await row(db, job_id))["status"] == "RUNNING"
    assert await finish(db, job, status="DONE", next_attempt_at=None)
    done = await row(db, job_id)
    assert done["status"] == "DONE" and done["claim_token"] is None
    assert not await finish(db, job, status="FAILED"), "a claim is released by its outcome"


async def test_a_job_whose_lease_has_passed_is_taken_over(db):
    job_id = await add_job(db)
    # A zero lease has passed at once: the worker holding it is as good as dead.
    stalled = await claim(db, lease=timedelta(0))
    assert stalled is not None

    taken_over = await claim(db)
    assert taken_over is not None and taken_over["id"] == job_id
    assert taken_over["claim_token"] != stalled["claim_token"] and taken_over["attempts"] == 2
    assert not await finish(db, stalled, status="DONE"), "the overtaken worker writes nothing"
    assert await finish(db, taken_over, status="DONE")


async def test_a_retry_is_an_outcome_that_leaves_the_job_due_later(db):
    job_id = await add_job(db)
    job = await claim(db)
    assert job is not None
    assert await finish(db, job, status="QUEUED", next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
    assert await claim(db) is None
    assert (await row(db, job_id))["attempts"] == 1


async def test_racing_claimers_take_each_job_once(db):
    job_ids = {await add_job(db) for _ in range(20)}

    async def claim_all() -> list[str]:
        taken = []
        while (job := await claim(db)) is not None:
            taken.append(job["id"])
        return taken

    claimed = [job_id for taken in await asyncio.gather(*(claim_all() for _ in range(4))) for job_id in taken]
    assert sorted(claimed) == sorted(job_ids)


class RecordingWorker(LeasedJobWorker):
    """Finishes each job as DONE; `block` holds it mid-job, `fail_first` makes its first pass fail."""

    def __init__(
        self,
        db: Database,
        *,
        lease: timedelta = LEASE,
        poll_seconds: float = 30,
        fail_first: bool = False,
        concurrency: int = 1,
    ) -> None:
        super().__init__(
            db, jobs, name="test-worker", lease=lease, poll_seconds=poll_seconds, concurrency=concurrency
        )
        self.done: list[str] = []
        self.working: set[str] = set()
        self.passes = 0
        self.started = asyncio.Event()
        self.block: asyncio.Event | None = None
        self._fail_next = fail_first

    async def begin_pass(self) -> None:
        self.passes += 1

    async def process(self, job: dict[str, Any]) -> None:
        self.started.set()
        self.working.add(job["id"])
        if self._fail_next:
            self._fail_next = False
            raise RuntimeError("the job's first attempt breaks")
        if self.block is not None:
            await self.block.wait()
        async with self.db.transaction() as session:
            await self.jobs.finish(session, job["id"], job["claim_token"], status="DONE")
        self.done.append(job["id"])


async def test_a_pass_works_through_every_due_job(db):
    worker = RecordingWorker(db)
    assert await worker.run_due() == 0
    assert worker.passes == 0, "an idle pass does not begin"

    job_ids = [await add_job(db, due_in=-timedelta(seconds=n)) for n in range(3)]
    await add_job(db, due_in=timedelta(hours=1))
    assert await worker.run_due() == 3
    assert worker.done == list(reversed(job_ids)) and worker.passes == 1


async def test_the_worker_wakes_when_the_transaction_that_queued_a_job_commits(db):
    worker = RecordingWorker(db)  # polls every 30 s: only the kick can make it this fast
    worker.start()
    try:
        await asyncio.sleep(0.1)  # idle and waiting
        job_id = str(uuid.uuid4())
        async with db.transaction() as session:
            await session.execute(
                sa.insert(jobs_table).values(
                    id=job_id, status="QUEUED", attempts=0, next_attempt_at=datetime.now(UTC)
                )
            )
            worker.kick_after_commit(session)
        assert await wait_for(lambda: _is_done(db, job_id), timeout=5)
    finally:
        await worker.stop()


async def test_a_worker_stopped_mid_job_hands_the_job_back_at_once(db):
    job_id = await add_job(db)
    worker = RecordingWorker(db)
    worker.block = asyncio.Event()
    worker.start()
    await asyncio.wait_for(worker.started.wait(), 5)

    await worker.stop()

    handed_back = await row(db, job_id)
    assert handed_back["status"] == "QUEUED" and handed_back["claim_token"] is None
    assert handed_back["attempts"] == 0 and utc(handed_back["next_attempt_at"]) <= datetime.now(UTC)
    assert await claim(db) is not None


async def test_several_loops_work_on_jobs_at_once_each_once_and_all_are_handed_back_on_stop(db):
    worker = RecordingWorker(db, concurrency=3)
    worker.block = asyncio.Event()
    job_ids = [await add_job(db) for _ in range(4)]
    worker.start()

    async def three_at_once() -> bool:
        return len(worker.working) == 3

    assert await wait_for(three_at_once, timeout=5)
    await asyncio.sleep(0.2)
    assert len(worker.working) == 3, "a loop took a second job while its first was unfinished"

    await worker.stop()
    for job_id in job_ids:
        handed_back = await row(db, job_id)
        assert handed_back["status"] == "QUEUED" and handed_back["claim_token"] is None
        assert handed_back["attempts"] == 0

    worker.block.set()
    worker.working.clear()
    worker.start()
    try:
        assert await wait_for(lambda: _all_done(db, job_ids), timeout=5)
    finally:
        await worker.stop()
    assert sorted(worker.done) == sorted(job_ids), "each job was worked on once"
    assert {(await row(db, job_id))["attempts"] for job_id in job_ids} == {1}


async def _all_done(db: Database, job_ids: list[str]) -> bool:
    return all([await _is_done(db, job_id) for job_id in job_ids])


async def test_a_failed_pass_is_logged_and_the_job_tried_again(db, caplog):
    job_id = await add_job(db)
    # A zero lease: the job the failed pass held is due again at once, for the next poll.
    worker = RecordingWorker(db, lease=timedelta(0), poll_seconds=0.05, fail_first=True)
    worker.start()
    try:
        assert await wait_for(lambda: _is_done(db, job_id), timeout=5)
    finally:
        await worker.stop()
    assert worker.done == [job_id]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR and "test-worker" in r.getMessage()]
    assert failures and failures[0].exc_info is not None


async def _is_done(db: Database, job_id: str) -> bool:
    return (await row(db, job_id))["status"] == "DONE"
