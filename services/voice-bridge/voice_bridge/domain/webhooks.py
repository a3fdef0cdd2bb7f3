"""Twilio webhook URLs and `X-Twilio-Signature` verification.

Twilio signs the URL *it* requested (scheme, host, path, query) plus the sorted form parameters. Behind
a TLS-terminating proxy or ingress the service sees another scheme, host and port than Twilio did, so
the URL is rebuilt from the configured public base URL instead of the request's. The same class builds
the callback URLs we hand to Twilio, which keeps what we sign-check identical to what Twilio signs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit
from uuid import UUID

from twilio.request_validator import RequestValidator

# Paths the service mounts the Twilio-facing endpoints at (relative to the public base URL).
STATUS_CALLBACK_PATH = "/twilio/status"
AMD_CALLBACK_PATH = "/twilio/amd"
INBOUND_VOICE_PATH = "/twilio/voice"
MEDIA_STREAM_PATH = "/twilio/media"

CALL_ID_PARAM = "call_id"


class PublicUrls:
    """Absolute URLs under the public base URL Twilio reaches us at."""

    def __init__(self, public_base_url: str) -> None:
        parts = urlsplit(public_base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("public_base_url must be an absolute http(s) URL without query or fragment")
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")

    def url(self, path: str, query: str = "") -> str:
        """The public URL of `path` (as the app routes it) with the raw query string."""
        return urlunsplit((self._scheme, self._netloc, self._prefix + path, query, ""))

    def status_callback(self, call_id: UUID) -> str:
        return self.url(STATUS_CALLBACK_PATH, urlencode({CALL_ID_PARAM: str(call_id)}))

    def amd_callback(self, call_id: UUID) -> str:
        return self.url(AMD_CALLBACK_PATH, urlencode({CALL_ID_PARAM: str(call_id)}))

    def media_stream(self) -> str:
        """The websocket URL for `<Stream url=…>`. Twilio rejects query strings here, so no call id:
        the call is identified by the token parameter."""
        scheme = "wss" if self._scheme == "https" else "ws"
        return urlunsplit((scheme, self._netloc, self._prefix + MEDIA_STREAM_PATH, "", ""))


class _FormParams(dict[str, list[str]]):
    """Form parameters with repeated keys kept; RequestValidator reads them through `getlist`."""

    def getlist(self, key: str) -> list[str]:
        return self[key]


class TwilioSignatureVerifier:
    """Checks `X-Twilio-Signature` on form-encoded webhooks.

    Several auth tokens may be given: Twilio lets an account promote a secondary token, and during the
    switch requests signed with either must pass.
    """

    def __init__(self, auth_tokens: Sequence[str], urls: PublicUrls) -> None:
        if not auth_tokens or not all(auth_tokens):
            raise ValueError("at least one non-empty Twilio auth token is required")
        self._validators = [RequestValidator(token) for token in auth_tokens]
        self._urls = urls

    def verify(
        self,
        *,
        path: str,
        query: str,
        form: Iterable[tuple[str, str]],
        signature: str | None,
    ) -> bool:
        """True when `signature` matches the request as Twilio sent it to the public URL."""
        if not signature:
            return False
        params = _FormParams()
        for key, value in form:
            params.setdefault(key, []).append(value)
        url = self._urls.url(path, query)
        return any(validator.validate(url, params, signature) for validator in self._validators)
