"""JSON logs with request and trace ids, and a redaction filter so secrets never reach a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|api[_-]?key|authorization|cookie|private", re.I)
_SECRET_VALUES = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),  # JWTs
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(password|secret|api_key|token)=([^&\s]+)"),
]
REDACTED = "[REDACTED]"


def redact_text(text: str) -> str:
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str | None = None) -> Any:
    """Redact secrets by key name and by value shape, recursively."""
    if key is not None and _SECRET_KEYS.search(key) and value not in (None, "", False):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact_text(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        from .tracing import current_trace_ids

        trace_id, span_id = current_trace_ids()
        if trace_id:
            entry["trace_id"], entry["span_id"] = trace_id, span_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = redact(value, key)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever `sys.stderr` is at emit time (test capture, reopened streams)."""

    @property  # type: ignore[override,unused-ignore]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _IdlePullTimeoutFilter(logging.Filter):
    """Drops FastStream's report of an idle pull fetch timing out.

    FastStream 0.7 suppresses `nats.errors.TimeoutError` around its pull `fetch`, but nats-py raises the
    plain `asyncio.TimeoutError` when no message arrived in time; FastStream's supervisor then logs an
    ERROR with a traceback and restarts the fetch loop. Nothing failed and nothing is lost, so the
    record would only teach operators to ignore tracebacks.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("faststream") or not record.exc_info:
            return True
        error = record.exc_info[1]
        return not (type(error) is TimeoutError and "raised an exception, retrying" in record.getMessage())


def configure_logging(service: str, level: str = "INFO", json_output: bool = True) -> None:
    handler = _StderrHandler()
    handler.addFilter(_IdlePullTimeoutFilter())
    handler.setFormatter(
        JsonFormatter(service)
        if json_output
        else TextFormatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "faststream"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # FastStream gives its logger a handler of its own and stops propagation when it is imported, which
    # would send its records around our formatter, redaction and filters: route them through ours.
    import faststream  # noqa: F401  (its import is what configures that logger)

    faststream_logger = logging.getLogger("faststream")
    faststream_logger.handlers.clear()
    faststream_logger.propagate = True
