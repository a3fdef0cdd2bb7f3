import base64
import json
import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mailer.domain.unsubscribe import (
    ExpiredTokenError,
    MalformedTokenError,
    TamperedTokenError,
    UnsubscribeTokens,
)

SECRET = "unsubscribe-secret-for-tests-0123456789"
ISSUED = datetime(2025, 11, 22, 9, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_verifies_to_the_lead_and_address_it_was_issued_for():
    tokens = UnsubscribeTokens(SECRET)
    lead_id = uuid4()
    token = tokens.issue(lead_id, "priya@example.com", issued_at=ISSUED)
    claim = tokens.verify(token, now=ISSUED + timedelta(days=3))
    assert claim.lead_id == lead_id
    assert claim.email == "priya@example.com"
    assert claim.issued_at == ISSUED


def test_tokens_are_url_safe():
    token = UnsubscribeTokens(SECRET).issue(uuid4(), "o'brien+tag@example.com", issued_at=ISSUED)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)


def test_changing_the_lead_in_the_payload_breaks_the_signature():
    tokens = UnsubscribeTokens(SECRET)
    token = tokens.issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    _, signature = token.split(".")
    forged = b64(
        json.dumps({"l": str(uuid4()), "e": "priya@example.com", "t": int(ISSUED.timestamp())}).encode()
    )
    with pytest.raises(TamperedTokenError):
        tokens.verify(f"{forged}.{signature}", now=ISSUED)


def test_a_changed_signature_is_rejected():
    tokens = UnsubscribeTokens(SECRET)
    payload, signature = tokens.issue(uuid4(), "priya@example.com", issued_at=ISSUED).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(TamperedTokenError):
        tokens.verify(f"{payload}.{flipped}", now=ISSUED)


def test_a_token_signed_with_another_secret_is_rejected():
    token = UnsubscribeTokens("another-secret-of-sufficient-length-000").issue(
        uuid4(), "a@b.co", issued_at=ISSUED
    )
    with pytest.raises(TamperedTokenError):
        UnsubscribeTokens(SECRET).verify(token, now=ISSUED)


def test_expiry_is_exact_and_reported():
    tokens = UnsubscribeTokens(SECRET, max_age=timedelta(days=30))
    token = tokens.issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    tokens.verify(token, now=ISSUED + timedelta(days=30) - timedelta(seconds=1))
    with pytest.raises(ExpiredTokenError) as expired:
        tokens.verify(token, now=ISSUED + timedelta(days=30))
    assert expired.value.expired_at == ISSUED + timedelta(days=30)
    assert "expired" in str(expired.value)


def test_a_token_from_the_future_is_refused_beyond_clock_skew():
    tokens = UnsubscribeTokens(SECRET)
    token = tokens.issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    tokens.verify(token, now=ISSUED - timedelta(minutes=4))
    with pytest.raises(MalformedTokenError):
        tokens.verify(token, now=ISSUED - timedelta(hours=1))


@pytest.mark.parametrize("token", ["", "abc", "abc.", ".abc", "abc.!!!", "é.abc", "a.b.c"])
def test_damaged_tokens_fail_with_a_token_error(token):
    with pytest.raises((MalformedTokenError, TamperedTokenError)):
        UnsubscribeTokens(SECRET).verify(token, now=ISSUED)


def test_links_survive_secret_rotation():
    old = "the-previous-secret-still-in-old-emails-0"
    sent_before = UnsubscribeTokens(old).issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    rotated = UnsubscribeTokens(SECRET, previous_secrets=[old])
    assert rotated.verify(sent_before, now=ISSUED).email == "priya@example.com"
    fresh = rotated.issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    with pytest.raises(TamperedTokenError):
        UnsubscribeTokens(old).verify(fresh, now=ISSUED)


def test_short_secrets_are_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        UnsubscribeTokens("too-short")
    with pytest.raises(ValueError, match="32 bytes"):
        UnsubscribeTokens(SECRET, previous_secrets=["short"])


def test_naive_times_are_refused():
    tokens = UnsubscribeTokens(SECRET)
    with pytest.raises(ValueError, match="timezone-aware"):
        tokens.issue(uuid4(), "priya@example.com", issued_at=datetime(2025, 11, 22, 9, 0))
    token = tokens.issue(uuid4(), "priya@example.com", issued_at=ISSUED)
    with pytest.raises(ValueError, match="timezone-aware"):
        tokens.verify(token, now=datetime(2025, 11, 22, 9, 0))
