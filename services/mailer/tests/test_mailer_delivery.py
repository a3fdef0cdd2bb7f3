from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from itertools import product
from random import Random

import pytest
from mailer.domain.delivery import (
    ALLOWED_TRANSITIONS,
    Delivery,
    EmailStatus,
    InvalidStatusTransitionError,
    RetryPolicy,
    ensure_transition,
)
from mailer.domain.sending import PermanentSendError, SendResult, TransientSendError
from mailer.testing.smtp import RecordingTransport

NOW = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)
EXPECTED = {
    (EmailStatus.QUEUED, EmailStatus.SENT),
    (EmailStatus.QUEUED, EmailStatus.FAILED),
    (EmailStatus.SENT, EmailStatus.BOUNCED),
}


@pytest.mark.parametrize(("current", "target"), list(product(EmailStatus, EmailStatus)))
def test_only_the_documented_transitions_are_allowed(current, target):
    if (current, target) in EXPECTED:
        ensure_transition(current, target)
    else:
        with pytest.raises(InvalidStatusTransitionError):
            ensure_transition(current, target)


def test_transition_table_names_every_status():
    assert set(ALLOWED_TRANSITIONS) == set(EmailStatus)


def test_backoff_doubles_up_to_the_cap_without_jitter():
    policy = RetryPolicy(first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=3), jitter=0)
    delays = [policy.delay_after(attempt, Random(1)).total_seconds() for attempt in range(1, 7)]
    assert delays == [30, 60, 120, 180, 180, 180]


def test_jitter_only_shortens_the_delay_and_spreads_it():
    policy = RetryPolicy(first_delay=timedelta(seconds=100), max_delay=timedelta(hours=1), jitter=0.2)
    rng = Random(42)
    delays = [policy.delay_after(1, rng).total_seconds() for _ in range(200)]
    assert all(80 <= delay <= 100 for delay in delays)
    assert max(delays) - min(delays) > 10


def test_backoff_for_absurd_attempt_numbers_stays_at_the_cap():
    policy = RetryPolicy(jitter=0)
    assert policy.delay_after(10_000, Random()) == policy.max_delay


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"first_delay": timedelta(0)},
        {"first_delay": timedelta(minutes=5), "max_delay": timedelta(minutes=1)},
        {"multiplier": 0.5},
        {"jitter": 1.0},
    ],
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_transient_failures_stay_queued_with_a_later_attempt_then_fail_when_attempts_run_out():
    policy = RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=10), jitter=0)
    delivery = Delivery()
    delivery = delivery.failed(
        TransientSendError("421 busy", smtp_code=421), policy=policy, now=NOW, rng=Random()
    )
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        EmailStatus.QUEUED,
        1,
        NOW + timedelta(seconds=10),
    )
    delivery = delivery.failed(TransientSendError("421 busy"), policy=policy, now=NOW, rng=Random())
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        EmailStatus.QUEUED,
        2,
        NOW + timedelta(seconds=20),
    )
    delivery = delivery.failed(TransientSendError("connection refused"), policy=policy, now=NOW, rng=Random())
    assert delivery.status is EmailStatus.FAILED
    assert delivery.attempts == 3
    assert delivery.next_attempt_at is None
    assert delivery.last_error == "connection refused"
    assert delivery.permanent_failure is False


def test_a_permanent_failure_is_final_at_once():
    delivery = Delivery().failed(
        PermanentSendError("550 5.1.1 unknown user", smtp_code=550),
        policy=RetryPolicy(),
        now=NOW,
        rng=Random(),
    )
    assert delivery.status is EmailStatus.FAILED
    assert delivery.attempts == 1
    assert delivery.permanent_failure is True


def test_sent_after_a_retry_keeps_the_provider_id_and_attempt_count():
    delivery = Delivery().failed(TransientSendError("timeout"), policy=RetryPolicy(), now=NOW, rng=Random())
    delivery = delivery.sent(SendResult(provider_message_id="<id@parley.test>"))
    assert delivery.status is EmailStatus.SENT
    assert delivery.attempts == 2
    assert delivery.provider_message_id == "<id@parley.test>"
    assert delivery.last_error is None
    assert delivery.next_attempt_at is None


def test_bounce_only_after_sent():
    with pytest.raises(InvalidStatusTransitionError):
        Delivery().bounced("550 mailbox full")
    bounced = Delivery().sent(SendResult(provider_message_id="<x@y>")).bounced("550 mailbox full")
    assert bounced.status is EmailStatus.BOUNCED
    assert bounced.last_error == "550 mailbox full"


def test_no_attempts_after_a_final_state():
    failed = Delivery().failed(PermanentSendError("550"), policy=RetryPolicy(), now=NOW, rng=Random())
    with pytest.raises(InvalidStatusTransitionError):
        failed.sent(SendResult(provider_message_id="<x@y>"))
    sent = Delivery().sent(SendResult(provider_message_id="<x@y>"))
    with pytest.raises(InvalidStatusTransitionError):
        sent.failed(TransientSendError("late"), policy=RetryPolicy(), now=NOW, rng=Random())


async def test_a_send_loop_over_a_flaky_transport_ends_sent_with_one_delivered_copy():
    transport = RecordingTransport(
        failures=[TransientSendError("421 busy", smtp_code=421), TransientSendError("timeout")]
    )
    message = EmailMessage()
    message["Message-ID"] = "<email-1@parley.test>"
    policy, delivery, rng = RetryPolicy(jitter=0), Delivery(), Random(0)
    while delivery.status is EmailStatus.QUEUED:
        try:
            delivery = delivery.sent(await transport.send(message))
        except TransientSendError as error:
            delivery = delivery.failed(error, policy=policy, now=NOW, rng=rng)
    assert delivery.status is EmailStatus.SENT
    assert delivery.attempts == transport.attempts == 3
    assert delivery.provider_message_id == "<email-1@parley.test>"
    assert transport.sent == [message]
