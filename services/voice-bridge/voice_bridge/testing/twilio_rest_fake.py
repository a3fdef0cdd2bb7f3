"""A local stand-in for the Twilio REST API and the webhooks Twilio sends back.

It speaks the real wire protocol, so the adapter under test runs the official `twilio` client unchanged:
form-encoded `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` to place a call and
`POST …/Calls/{CallSid}.json` to update one, HTTP basic auth, Twilio-shaped JSON bodies and errors.
It records every request, and plays Twilio's part afterwards: `send_status` and `send_amd` POST the
status-callback and async-AMD webhooks to the URLs the call was created with, signed with a correct
`X-Twilio-Signature`, only for the events the call subscribed to (as Twilio does).

One fake can hold several accounts (`add_account`), each call belonging to the account that created it,
and an account's auth token can be rotated (`rotate_auth_token`): webhooks are then signed with the new
(primary) token, as Twilio does, while the old one still authenticates API requests (the secondary).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import BasicAuth, ClientError, ClientSession, web
from parley_contracts import utcnow
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
# Which StatusCallbackEvent subscription delivers each CallStatus.
_EVENT_FOR_STATUS = {
    "initiated": "initiated",
    "ringing": "ringing",
    "in-progress": "answered",
    **{status: "completed" for status in TERMINAL_STATUSES},
}
_NOT_YET_ANSWERED = frozenset({"queued", "initiated", "ringing"})
# `DeliveredWebhook.response_status` of a webhook whose URL could not be reached.
UNDELIVERED = 0


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    status: str
    created_at: datetime
    twiml: str | None
    url: str | None
    status_callback: str | None
    status_callback_events: list[str]
    machine_detection: str | None
    async_amd: bool
    async_amd_status_callback: str | None
    timeout: int | None
    time_limit: int | None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    answered_by: str | None = None
    twiml_updates: list[str] = field(default_factory=list)
    callbacks_sent: int = 0
    account_sid: str = ""  # the account that created the call

    def to_json(self, account_sid: str) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{self.sid}"
        duration = None
        if self.answered_at and self.ended_at:
            duration = str(int((self.ended_at - self.answered_at).total_seconds()))
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "to": self.to,
            "to_formatted": self.to,
            "from": self.from_,
            "from_formatted": self.from_,
            "status": self.status,
            "direction": "outbound-api",
            "answered_by": self.answered_by,
            "date_created": format_datetime(self.created_at),
            "date_updated": format_datetime(utcnow()),
            "start_time": format_datetime(self.answered_at) if self.answered_at else None,
            "end_time": format_datetime(self.ended_at) if self.ended_at else None,
            "duration": duration,
            "price": None,
            "price_unit": "USD",
            "caller_name": None,
            "forwarded_from": None,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {
                "notifications": f"{uri}/Notifications.json",
                "recordings": f"{uri}/Recordings.json",
                "events": f"{uri}/Events.json",
            },
        }


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    form: dict[str, list[str]]
    authorized: bool
    credential: tuple[str, str] | None = None  # the basic-auth username and password it came with


@dataclass(frozen=True)
class DeliveredWebhook:
    url: str
    params: dict[str, str]
    signature: str
    response_status: int


@dataclass(frozen=True)
class _InjectedFailure:
    status: int
    code: int
    message: str


class FakeTwilioRest:
    """Use as `async with FakeTwilioRest() as twilio:`; point the client at `twilio.base_url`."""

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_key_sid: str | None = None,
        api_key_secret: str | None = None,
    ) -> None:
        self.account_sid = account_sid or new_sid("AC")
        # Each account's auth tokens, the primary first. Webhooks are always signed with the primary,
        # whatever credential placed the call.
        self._tokens: dict[str, list[str]] = {}
        # (username, password) -> the account that credential belongs to.
        self._credentials: dict[tuple[str, str], str] = {}
        self.add_account(account_sid=self.account_sid, auth_token=auth_token)
        if api_key_sid and api_key_secret:
            self._credentials[(api_key_sid, api_key_secret)] = self.account_sid
        self.requests: list[RecordedRequest] = []
        self.calls: dict[str, FakeCall] = {}
        self.webhooks: list[DeliveredWebhook] = []
        self._failures: list[_InjectedFailure] = []
        self._stalls: list[float] = []
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def auth_token(self) -> str:
        """The first account's (primary) auth token."""
        return self.auth_token_of(self.account_sid)

    def auth_token_of(self, account_sid: str) -> str:
        return self._tokens[account_sid][0]

    def add_account(
        self, *, account_sid: str | None = None, auth_token: str | None = None
    ) -> tuple[str, str]:
        """Another account on the same API host; its (account SID, auth token)."""
        sid = account_sid or new_sid("AC")
        token = auth_token or secrets.token_hex(16)
        self._tokens[sid] = [token]
        self._credentials[(sid, token)] = sid
        return sid, token

    def rotate_auth_token(self, account_sid: str | None = None) -> str:
        """Promote a new auth token to primary (webhooks are signed with it from now); the old one
        becomes the secondary and still authenticates API requests."""
        sid = account_sid or self.account_sid
        token = secrets.token_hex(16)
        primary, *dropped = self._tokens[sid]  # Twilio keeps one secondary token
        self._tokens[sid] = [token, primary]
        for old in dropped:
            self._credentials.pop((sid, old), None)
        self._credentials[(sid, token)] = sid
        return token

    async def __aenter__(self) -> FakeTwilioRest:
        app = web.Application()
        calls = f"/{API_VERSION}/Accounts/{{account_sid}}/Calls"
        app.router.add_post(f"{calls}.json", self._create_call)
        app.router.add_post(f"{calls}/{{call_sid}}.json", self._update_call)
        app.router.add_get(f"{calls}/{{call_sid}}.json", self._fetch_call)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self._session = ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next_request(self, *, status: int, code: int, message: str = "Injected failure") -> None:
        """Answer the next API request with this Twilio error instead of handling it."""
        self._failures.append(_InjectedFailure(status, code, message))

    def stall_next_request(self, seconds: float) -> None:
        """Hold the next API request this long before handling it, to make the client time out."""
        self._stalls.append(seconds)

    def requests_to(self, call_sid: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path.endswith(f"/Calls/{call_sid}.json")]

    # -- Twilio's side of the call: progress webhooks ------------------------------------------------

    async def send_status(self, call_sid: str, status: str, *, lost: bool = False) -> DeliveredWebhook | None:
        """Move the call to `status` and POST the status callback if the call subscribed to it.

        `lost=True` moves the call without delivering the webhook, as when our endpoint was down.
        """
        call = self.calls[call_sid]
        self._set_status(call, status)
        if (
            lost
            or call.status_callback is None
            or _EVENT_FOR_STATUS[status] not in call.status_callback_events
        ):
            return None
        params = self._call_params(call)
        params.update(
            CallStatus=status,
            CallbackSource="call-progress-events",
            SequenceNumber=str(call.callbacks_sent),
            Timestamp=format_datetime(utcnow()),
        )
        if status in TERMINAL_STATUSES:
            params["CallDuration"] = call.to_json(call.account_sid)["duration"] or "0"
        call.callbacks_sent += 1
        return await self.send_webhook(call.status_callback, params, account_sid=call.account_sid)

    async def send_amd(
        self, call_sid: str, answered_by: str, *, detection_ms: int = 2400
    ) -> DeliveredWebhook:
        """POST the async answering-machine-detection verdict."""
        call = self.calls[call_sid]
        if not (call.async_amd and call.async_amd_status_callback):
            raise AssertionError("the call was not created with AsyncAmd and AsyncAmdStatusCallback")
        call.answered_by = answered_by
        params = {
            "AccountSid": call.account_sid,
            "CallSid": call.sid,
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(detection_ms),
        }
        return await self.send_webhook(call.async_amd_status_callback, params, account_sid=call.account_sid)

    async def send_webhook(
        self,
        url: str,
        params: dict[str, str],
        *,
        signature: str | None = None,
        account_sid: str | None = None,
    ) -> DeliveredWebhook:
        """POST a form webhook signed as Twilio signs it, with the primary auth token of `account_sid`
        (the first account's by default), or with `signature`, to forge one."""
        assert self._session is not None, "use the fake as an async context manager"
        signer = RequestValidator(self.auth_token_of(account_sid or self.account_sid))
        signed = signature if signature is not None else signer.compute_signature(url, params)
        try:
            async with self._session.post(
                url, data=params, headers={"X-Twilio-Signature": signed}
            ) as response:
                await response.read()
                status = response.status
        except ClientError:
            # Twilio logs an unreachable webhook (error 11200) and carries on with the call; so does the fake.
            status = UNDELIVERED
        delivered = DeliveredWebhook(url, dict(params), signed, status)
        self.webhooks.append(delivered)
        return delivered

    # -- the REST API ------------------------------------------------------------------------------

    async def _create_call(self, request: web.Request) -> web.Response:
        form, rejected = await self._accept(request)
        if rejected is not None:
            return rejected
        values = {key: values[-1] for key, values in form.items()}
        for required in ("To", "From"):
            if not values.get(required):
                return _error(400, 21201, f"No '{required}' number is specified")
        if not values["To"].startswith("+") or not values["To"][1:].isdigit():
            return _error(400, 21211, f"Invalid 'To' Phone Number: {values['To']}")
        if not any(values.get(key) for key in ("Url", "Twiml", "ApplicationSid")):
            return _error(400, 21205, "Url parameter is required")
        call = FakeCall(
            sid=new_sid("CA"),
            to=values["To"],
            from_=values["From"],
            status="queued",
            created_at=utcnow(),
            twiml=values.get("Twiml"),
            url=values.get("Url"),
            status_callback=values.get("StatusCallback"),
            status_callback_events=form.get("StatusCallbackEvent", ["completed"]),
            machine_detection=values.get("MachineDetection"),
            async_amd=values.get("AsyncAmd", "false").lower() == "true",
            async_amd_status_callback=values.get("AsyncAmdStatusCallback"),
            timeout=int(values["Timeout"]) if "Timeout" in values else None,
            time_limit=int(values["TimeLimit"]) if "TimeLimit" in values else None,
            account_sid=request.match_info["account_sid"],
        )
        self.calls[call.sid] = call
        return web.json_response(call.to_json(call.account_sid), status=201)

    async def _fetch_call(self, request: web.Request) -> web.Response:
        _, rejected = await self._accept(request)
        if rejected is not None:
            return rejected
        call = self._call(request)
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.json_response(call.to_json(call.account_sid))

    async def _update_call(self, request: web.Request) -> web.Response:
        form, rejected = await self._accept(request)
        if rejected is not None:
            return rejected
        call = self._call(request)
        if call is None:
            return _error(404, 20404, "The requested resource was not found")
        values = {key: values[-1] for key, values in form.items()}
        new_status = values.get("Status")
        if call.status in TERMINAL_STATUSES:
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if new_status in {"completed", "canceled"}:
            # Twilio cancels a call that was never answered and completes one that was.
            final = "canceled" if call.status in _NOT_YET_ANSWERED else "completed"
            body = call.to_json(call.account_sid) | {"status": final}
            # Delivered before the REST answer (Twilio sends it just after), so when the client's
            # hang-up returns, the terminal webhook has already been handled: tests need no waiting.
            await self.send_status(call.sid, final)
            return web.json_response(body)
        if twiml := values.get("Twiml"):
            call.twiml = twiml
            call.twiml_updates.append(twiml)
        elif url := values.get("Url"):
            call.url = url
        else:
            return _error(400, 21218, "Invalid update: set Status, Url or Twiml")
        return web.json_response(call.to_json(call.account_sid))

    async def _accept(self, request: web.Request) -> tuple[dict[str, list[str]], web.Response | None]:
        posted = await request.post()
        form: dict[str, list[str]] = {}
        for key, value in posted.items():
            form.setdefault(key, []).append(str(value))
        credential = _basic_auth(request)
        account = self._credentials.get(credential) if credential is not None else None
        self.requests.append(
            RecordedRequest(request.method, request.path, form, account is not None, credential)
        )
        if self._stalls:
            await asyncio.sleep(self._stalls.pop(0))
        if account is None:
            return form, _error(401, 20003, "Authentication Error - invalid username")
        if request.match_info["account_sid"] != account:
            return form, _error(404, 20404, "The requested resource was not found")
        if self._failures:
            failure = self._failures.pop(0)
            return form, _error(failure.status, failure.code, failure.message)
        return form, None

    def _call(self, request: web.Request) -> FakeCall | None:
        """The call in the path, if it belongs to the account in the path."""
        call = self.calls.get(request.match_info["call_sid"])
        return call if call is not None and call.account_sid == request.match_info["account_sid"] else None

    def _call_params(self, call: FakeCall) -> dict[str, str]:
        return {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "Direction": "outbound-api",
            "From": call.from_,
            "Caller": call.from_,
            "To": call.to,
            "Called": call.to,
        }

    @staticmethod
    def _set_status(call: FakeCall, status: str) -> None:
        if status not in _EVENT_FOR_STATUS:
            raise ValueError(f"Twilio sends no status callback for {status!r}")
        now = utcnow()
        if status == "in-progress" and call.answered_at is None:
            call.answered_at = now
        if status in TERMINAL_STATUSES and call.ended_at is None:
            call.ended_at = now
        call.status = status


def _basic_auth(request: web.Request) -> tuple[str, str] | None:
    try:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return None
    return auth.login, auth.password


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
