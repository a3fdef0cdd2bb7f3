"""OpenTelemetry: a tracer per service, and trace context carried across HTTP and NATS headers."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

_configured = False


def configure_tracing(service: str, exporter: str = "none", extra: SpanExporter | None = None) -> None:
    """Install the SDK provider once per process; `extra` lets tests capture spans in memory."""
    global _configured
    provider = trace.get_tracer_provider()
    if not _configured:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if exporter == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
        _configured = True
    if extra is not None and isinstance(provider, TracerProvider):
        provider.add_span_processor(SimpleSpanProcessor(extra))


def tracer(name: str = "parley") -> trace.Tracer:
    return trace.get_tracer(name)


def inject_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context (traceparent, tracestate) into message or HTTP headers."""
    propagate.inject(headers)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    return propagate.extract(dict(headers or {}))


def current_trace_ids() -> tuple[str | None, str | None]:
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
