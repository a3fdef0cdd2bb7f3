"""Media-stream tokens and callback links: signed, bound, expiring, single-use where it matters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from voice_bridge.adapters.memory_stores import InMemoryReplayStore, InMemoryShortLinkStore
from voice_bridge.domain.callback_links import SHORT_CODE_ALPHABET, SHORT_CODE_LENGTH, CallbackLinks
from voice_bridge.domain.media_tokens import MediaStreamTokens
from voice_bridge.domain.signed_tokens import SignedTokenCodec, TokenPurpose, TokenRejected, TokenRejection

SECRET = b"s" * 32
OTHER_SECRET = b"o" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _flip_byte(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def _rejection(excinfo: pytest.ExceptionInfo[TokenRejected]) -> TokenRejection:
    return excinfo.value.reason


# -- codec ---------------------------------------------------------------------------------------


def test_codec_round_trip_keeps_subject_expiry_and_nonce() -> None:
    codec = SignedTokenCodec([SECRET], TokenPurpose.MEDIA_STREAM)
    subject, expires = uuid4(), datetime(2026, 3, 4, 12, 10, tzinfo=UTC)
    claims = codec.decode(codec.encode(subject, expires, b"nonce"), datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    assert (claims.subject, claims.expires_at, claims.nonce) == (subject, expires, b"nonce")


def test_codec_rejects_every_single_bit_flip() -> None:
    codec = SignedTokenCodec([SECRET], TokenPurpose.MEDIA_STREAM)
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    token = codec.encode(uuid4(), now + timedelta(minutes=5), b"abc")
    length = len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for index in range(length):
        with pytest.raises(TokenRejected) as excinfo:
            codec.decode(_flip_byte(token, index), now)
        assert _rejection(excinfo) in {TokenRejection.BAD_SIGNATURE, TokenRejection.MALFORMED}


def test_token_for_one_purpose_does_not_verify_for_another() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    link_token = SignedTokenCodec([SECRET], TokenPurpose.CALLBACK_LINK).encode(
        uuid4(), now + timedelta(days=1)
    )
    with pytest.raises(TokenRejected) as excinfo:
        SignedTokenCodec([SECRET], TokenPurpose.MEDIA_STREAM).decode(link_token, now)
    assert _rejection(excinfo) is TokenRejection.BAD_SIGNATURE


def test_rotated_secret_still_verifies_old_tokens_but_signs_with_the_new_one() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    old = SignedTokenCodec([OTHER_SECRET], TokenPurpose.MEDIA_STREAM)
    rotated = SignedTokenCodec([SECRET, OTHER_SECRET], TokenPurpose.MEDIA_STREAM)
    subject = uuid4()
    assert rotated.decode(old.encode(subject, now + timedelta(minutes=1)), now).subject == subject
    with pytest.raises(TokenRejected):
        old.decode(rotated.encode(subject, now + timedelta(minutes=1)), now)


@pytest.mark.parametrize("garbage", ["", "not base64 !!", "abc", "A" * 400, "é"])
def test_malformed_tokens_are_rejected_not_crashed_on(garbage: str) -> None:
    codec = SignedTokenCodec([SECRET], TokenPurpose.MEDIA_STREAM)
    with pytest.raises(TokenRejected):
        codec.decode(garbage, datetime(2026, 3, 4, tzinfo=UTC))


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        SignedTokenCodec([b"short"], TokenPurpose.MEDIA_STREAM)
    with pytest.raises(ValueError):
        SignedTokenCodec([], TokenPurpose.MEDIA_STREAM)


# -- media-stream tokens -------------------------------------------------------------------------


async def test_media_token_is_accepted_once_for_its_call() -> None:
    clock = Clock()
    tokens = MediaStreamTokens([SECRET], InMemoryReplayStore(clock), clock=clock)
    call_id = uuid4()
    token = tokens.issue(call_id)
    assert await tokens.redeem(token) == call_id
    with pytest.raises(TokenRejected) as excinfo:
        await tokens.redeem(token)
    assert _rejection(excinfo) is TokenRejection.REPLAYED


async def test_media_token_for_another_call_is_refused_and_not_burnt() -> None:
    clock = Clock()
    tokens = MediaStreamTokens([SECRET], InMemoryReplayStore(clock), clock=clock)
    call_id = uuid4()
    token = tokens.issue(call_id)
    with pytest.raises(TokenRejected) as excinfo:
        await tokens.redeem(token, expected_call_id=uuid4())
    assert _rejection(excinfo) is TokenRejection.WRONG_SUBJECT
    assert await tokens.redeem(token, expected_call_id=call_id) == call_id  # the rightful stream connects


async def test_media_token_expires() -> None:
    clock = Clock()
    tokens = MediaStreamTokens([SECRET], InMemoryReplayStore(clock), ttl=timedelta(minutes=5), clock=clock)
    call_id = uuid4()
    token = tokens.issue(call_id)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(TokenRejected) as excinfo:
        await tokens.redeem(token)
    assert _rejection(excinfo) is TokenRejection.EXPIRED


async def test_media_token_forged_with_another_secret_is_refused() -> None:
    clock = Clock()
    store = InMemoryReplayStore(clock)
    genuine = MediaStreamTokens([SECRET], store, clock=clock)
    forger = MediaStreamTokens([OTHER_SECRET], store, clock=clock)
    call_id = uuid4()
    with pytest.raises(TokenRejected) as excinfo:
        await genuine.redeem(forger.issue(call_id))
    assert _rejection(excinfo) is TokenRejection.BAD_SIGNATURE


async def test_each_issued_media_token_is_distinct() -> None:
    clock = Clock()
    tokens = MediaStreamTokens([SECRET], InMemoryReplayStore(clock), clock=clock)
    call_id = uuid4()
    first, second = tokens.issue(call_id), tokens.issue(call_id)
    assert first != second
    assert await tokens.redeem(first) == await tokens.redeem(second) == call_id


async def test_replay_store_forgets_claims_once_they_expire() -> None:
    clock = Clock()
    store = InMemoryReplayStore(clock)
    assert await store.claim("a", clock.now + timedelta(seconds=10))
    assert not await store.claim("a", clock.now + timedelta(seconds=10))
    clock.advance(timedelta(seconds=11))
    assert len(store) == 0
    assert await store.claim("a", clock.now + timedelta(seconds=10))


# -- callback links ------------------------------------------------------------------------------


def _links(clock: Clock, store: InMemoryShortLinkStore | None = None) -> CallbackLinks:
    return CallbackLinks(
        [SECRET], "https://parley.example/cb/", store or InMemoryShortLinkStore(clock), clock=clock
    )


async def test_callback_link_resolves_to_its_lead_by_token_and_by_short_code() -> None:
    clock = Clock()
    links = _links(clock)
    lead_id = uuid4()
    link = await links.issue(lead_id)
    assert link.url.startswith("https://parley.example/cb/")
    assert link.short_url == f"https://parley.example/cb/{link.code}"
    assert len(link.code) == SHORT_CODE_LENGTH and set(link.code) <= set(SHORT_CODE_ALPHABET)
    assert (await links.resolve(link.url.rsplit("/", 1)[1])).subject == lead_id
    assert (await links.resolve(link.code)).subject == lead_id
    # Opening the link twice is fine: callback links are not single-use.
    assert (await links.resolve(link.code.lower())).subject == lead_id
    assert link.expires_at == clock.now + timedelta(days=7)


async def test_short_code_read_with_confusable_letters_still_resolves() -> None:
    clock = Clock()
    links = _links(clock)
    link = await links.issue(uuid4())
    misheard = link.code.replace("1", "I").replace("0", "O")
    assert (await links.resolve(misheard)).subject == (await links.resolve(link.code)).subject


async def test_tampered_callback_link_is_refused() -> None:
    clock = Clock()
    links = _links(clock)
    token = (await links.issue(uuid4())).url.rsplit("/", 1)[1]
    with pytest.raises(TokenRejected) as excinfo:
        await links.resolve(_flip_byte(token, 3))  # inside the lead id
    assert _rejection(excinfo) is TokenRejection.BAD_SIGNATURE


async def test_callback_link_expires_after_seven_days() -> None:
    clock = Clock()
    links = _links(clock)
    link = await links.issue(uuid4())
    clock.advance(timedelta(days=7, seconds=1))
    for segment in (link.code, link.url.rsplit("/", 1)[1]):
        with pytest.raises(TokenRejected):
            await links.resolve(segment)


async def test_unknown_short_code_is_refused() -> None:
    clock = Clock()
    with pytest.raises(TokenRejected) as excinfo:
        await _links(clock).resolve("ABCDEFGH")
    assert _rejection(excinfo) is TokenRejection.UNKNOWN


async def test_short_code_mapping_to_a_forged_token_is_refused() -> None:
    """The store is not trusted: what it maps a code to is verified again."""
    clock = Clock()
    store = InMemoryShortLinkStore(clock)
    forged = SignedTokenCodec([OTHER_SECRET], TokenPurpose.CALLBACK_LINK).encode(
        uuid4(), clock.now + timedelta(days=1)
    )
    await store.put("ABCDEFGH", forged, clock.now + timedelta(days=1))
    with pytest.raises(TokenRejected) as excinfo:
        await _links(clock, store).resolve("ABCDEFGH")
    assert _rejection(excinfo) is TokenRejection.BAD_SIGNATURE


async def test_media_token_is_not_a_valid_callback_link() -> None:
    clock = Clock()
    media = MediaStreamTokens([SECRET], InMemoryReplayStore(clock), clock=clock)
    with pytest.raises(TokenRejected):
        await _links(clock).resolve(media.issue(uuid4()))


def test_link_base_must_be_absolute() -> None:
    clock = Clock()
    with pytest.raises(ValueError):
        CallbackLinks([SECRET], "/cb", InMemoryShortLinkStore(clock), clock=clock)
