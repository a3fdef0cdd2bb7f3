"""`Telephony` over the Twilio REST API, with the official `twilio` client.

The SDK's default HTTP client is synchronous (requests), so every call runs on a small thread pool owned
by this adapter: the event loop, which relays audio for every live call, never blocks on Twilio, and a
slow Twilio cannot starve the loop's default executor that other code shares.

`api_base_url` points the client at another host (a local fake in tests, a recording proxy): the SDK
builds every URL from its `Api` domain's `base_url`, so that is overridden rather than the transport.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from requests import ConnectionError as RequestsConnectionError
from requests import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..domain.telephony import CallNotInProgress, OutboundCall, PlacedCall, TelephonyError

TWILIO_API_BASE_URL = "https://api.twilio.com"

# Twilio error codes (https://www.twilio.com/docs/api/errors) that mean "this call is already over".
_CALL_NOT_IN_PROGRESS = 21220
_NOT_FOUND = 20404
_TOO_MANY_REQUESTS = 20429

_STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
_HANG_UP_ATTEMPTS = 3
_HANG_UP_BACKOFF_SECONDS = 0.5

# The SDK logs every request and response at INFO; at one line per callback per call that drowns the
# service's own logs, so only its warnings pass.
_sdk_logger = logging.getLogger(f"{__name__}.sdk")
_sdk_logger.setLevel(logging.WARNING)

T = TypeVar("T")


class TwilioRestTelephony:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_key_sid: str | None = None,
        api_base_url: str = TWILIO_API_BASE_URL,
        edge: str | None = None,
        region: str | None = None,
        request_timeout_seconds: float = 10.0,
        max_concurrent_requests: int = 8,
    ) -> None:
        """Authenticate with the auth token, or with an API key (`api_key_sid` + its secret as
        `auth_token`), which Twilio recommends for production because it can be revoked alone."""
        http_client = TwilioHttpClient(timeout=request_timeout_seconds, logger=_sdk_logger)
        self._client = Client(
            username=api_key_sid or account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=http_client,
            edge=edge,
            region=region,
        )
        self._client.api.base_url = api_base_url.rstrip("/")
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrent_requests, thread_name_prefix="twilio-rest"
        )

    async def place_call(self, call: OutboundCall) -> PlacedCall:
        create = partial(
            self._client.calls.create,
            to=call.to,
            from_=call.from_,
            twiml=call.twiml,
            status_callback=call.status_callback_url,
            status_callback_event=_STATUS_EVENTS,
            status_callback_method="POST",
            # DetectMessageEnd waits for the greeting to finish (the beep) before reporting a machine,
            # which is when a voicemail has to start; async keeps the stream connected meanwhile so a
            # human hears the bot at once instead of seconds of detection silence.
            machine_detection="DetectMessageEnd",
            async_amd="true",
            async_amd_status_callback=call.amd_callback_url,
            async_amd_status_callback_method="POST",
            timeout=call.ring_timeout_seconds,
            time_limit=call.time_limit_seconds,
        )
        # Never retried here, and a timeout after the request went out is reported as not retryable: the
        # call may have been placed, and a second attempt would ring the prospect twice.
        instance = await self._run(create, idempotent=False)
        if instance.sid is None:
            raise TelephonyError("Twilio accepted the call but returned no CallSid", retryable=False)
        return PlacedCall(call_sid=instance.sid, status=str(instance.status))

    async def hang_up(self, call_sid: str) -> None:
        # `completed` ends a call in any state (Twilio cancels it if still queued or ringing). Retried,
        # unlike create: hanging up twice is harmless and a call left running costs money.
        update = partial(self._client.calls(call_sid).update, status="completed")
        for attempt in range(1, _HANG_UP_ATTEMPTS + 1):
            try:
                await self._run(update)
                return
            except CallNotInProgress:
                return
            except TelephonyError as error:
                if not error.retryable or attempt == _HANG_UP_ATTEMPTS:
                    raise
                await asyncio.sleep(_HANG_UP_BACKOFF_SECONDS * attempt)

    async def fetch_status(self, call_sid: str) -> str:
        instance = await self._run(self._client.calls(call_sid).fetch)
        return str(instance.status)

    async def play_voicemail(self, call_sid: str, twiml: str) -> None:
        await self._run(partial(self._client.calls(call_sid).update, twiml=twiml))

    async def aclose(self) -> None:
        """Wait for requests in flight, then release the pool and its HTTP connections."""
        await asyncio.get_running_loop().run_in_executor(None, partial(self._executor.shutdown, wait=True))
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()

    async def _run(self, request: Callable[[], T], *, idempotent: bool = True) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, request)
        except TwilioRestException as exc:
            raise _telephony_error(exc) from exc
        except RequestsConnectionError as exc:
            # Includes connect timeouts: the request never reached Twilio, so trying again is safe.
            raise TelephonyError(f"Twilio unreachable: {type(exc).__name__}", retryable=True) from exc
        except RequestException as exc:
            raise TelephonyError(
                f"Twilio did not answer in time ({type(exc).__name__}); the request may have been applied",
                retryable=idempotent,
            ) from exc


def _telephony_error(exc: TwilioRestException) -> TelephonyError:
    message = f"Twilio {exc.method} failed with HTTP {exc.status}, code {exc.code}: {exc.msg}"
    if exc.code in {_CALL_NOT_IN_PROGRESS, _NOT_FOUND} or exc.status == 404:
        return CallNotInProgress(message, code=exc.code, status=exc.status)
    retryable = exc.status >= 500 or exc.status == 429 or exc.code == _TOO_MANY_REQUESTS
    return TelephonyError(message, retryable=retryable, code=exc.code, status=exc.status)
