"""X-Twilio-Signature verification, including the public URL seen through a proxy."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from twilio.request_validator import RequestValidator
from voice_bridge.domain.webhooks import (
    AMD_CALLBACK_PATH,
    STATUS_CALLBACK_PATH,
    PublicUrls,
    TwilioSignatureVerifier,
)

TOKEN = "12345678901234567890123456789012"
URLS = PublicUrls("https://voice.parley.example/bridge")
FORM = [("CallSid", "CA123"), ("CallStatus", "ringing"), ("AccountSid", "AC1")]


def _sign(url: str, form: list[tuple[str, str]], token: str = TOKEN) -> str:
    grouped: dict[str, list[str]] = {}
    for key, value in form:
        grouped.setdefault(key, []).append(value)

    class Params(dict[str, list[str]]):
        def getlist(self, key: str) -> list[str]:
            return self[key]

    return RequestValidator(token).compute_signature(url, Params(grouped))


def _request(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path.removeprefix("/bridge"), parts.query


def test_valid_signature_passes() -> None:
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    verifier = TwilioSignatureVerifier([TOKEN], URLS)
    assert verifier.verify(path=path, query=query, form=FORM, signature=_sign(url, FORM))


def test_signature_from_another_auth_token_is_refused() -> None:
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    forged = _sign(url, FORM, token="attacker-token-attacker-token-00")
    assert not TwilioSignatureVerifier([TOKEN], URLS).verify(
        path=path, query=query, form=FORM, signature=forged
    )


def test_tampered_body_is_refused() -> None:
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    signature = _sign(url, FORM)
    tampered = [("CallSid", "CA123"), ("CallStatus", "completed"), ("AccountSid", "AC1")]
    assert not TwilioSignatureVerifier([TOKEN], URLS).verify(
        path=path, query=query, form=tampered, signature=signature
    )


def test_tampered_query_is_refused() -> None:
    """The call id rides in the signed URL, so moving a callback onto another call breaks the signature."""
    url = URLS.status_callback(uuid4())
    path, _ = _request(url)
    signature = _sign(url, FORM)
    other_query = _request(URLS.status_callback(uuid4()))[1]
    assert not TwilioSignatureVerifier([TOKEN], URLS).verify(
        path=path, query=other_query, form=FORM, signature=signature
    )


def test_added_parameter_is_refused() -> None:
    url = URLS.amd_callback(uuid4())
    path, query = _request(url)
    signature = _sign(url, FORM)
    assert not TwilioSignatureVerifier([TOKEN], URLS).verify(
        path=path, query=query, form=[*FORM, ("AnsweredBy", "human")], signature=signature
    )


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"])
def test_missing_or_garbage_signature_is_refused(signature: str | None) -> None:
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    assert not TwilioSignatureVerifier([TOKEN], URLS).verify(
        path=path, query=query, form=FORM, signature=signature
    )


def test_signature_is_checked_against_the_public_url_not_the_internal_one() -> None:
    """Behind a proxy the app sees http://pod:8000/twilio/status; Twilio signed the public https URL."""
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    verifier = TwilioSignatureVerifier([TOKEN], URLS)
    assert verifier.verify(path=path, query=query, form=FORM, signature=_sign(url, FORM))
    internal = f"http://10.0.0.7:8000{path}?{query}"
    assert not verifier.verify(path=path, query=query, form=FORM, signature=_sign(internal, FORM))


def test_secondary_auth_token_is_accepted_during_rotation() -> None:
    secondary = "abcdefabcdefabcdefabcdefabcdefab"
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    verifier = TwilioSignatureVerifier([TOKEN, secondary], URLS)
    assert verifier.verify(path=path, query=query, form=FORM, signature=_sign(url, FORM, token=secondary))


def test_repeated_form_keys_are_all_signed() -> None:
    url = URLS.status_callback(uuid4())
    path, query = _request(url)
    form = [*FORM, ("StatusCallbackEvent", "ringing"), ("StatusCallbackEvent", "answered")]
    verifier = TwilioSignatureVerifier([TOKEN], URLS)
    assert verifier.verify(path=path, query=query, form=form, signature=_sign(url, form))
    assert not verifier.verify(path=path, query=query, form=form[:-1], signature=_sign(url, form))


def test_public_urls_keep_the_base_path_and_derive_the_websocket_scheme() -> None:
    call_id = uuid4()
    assert (
        URLS.status_callback(call_id)
        == f"https://voice.parley.example/bridge{STATUS_CALLBACK_PATH}?call_id={call_id}"
    )
    assert URLS.amd_callback(call_id).startswith(f"https://voice.parley.example/bridge{AMD_CALLBACK_PATH}?")
    assert URLS.media_stream() == "wss://voice.parley.example/bridge/twilio/media"


@pytest.mark.parametrize("base", ["voice.parley.example", "ftp://x", "https://x/?a=1", "https://x/#f"])
def test_public_base_url_must_be_absolute_http(base: str) -> None:
    with pytest.raises(ValueError):
        PublicUrls(base)


def test_verifier_needs_a_token() -> None:
    with pytest.raises(ValueError):
        TwilioSignatureVerifier([], URLS)
    with pytest.raises(ValueError):
        TwilioSignatureVerifier([""], URLS)
