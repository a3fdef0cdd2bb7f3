"""Prometheus metrics shared by every service (HTTP and bus); exposed at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "parley_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "parley_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_CONSUMED = Counter("parley_events_consumed_total", "Events handled", ["service", "consumer", "result"])
EVENTS_PUBLISHED = Counter("parley_events_published_total", "Outbox events published", ["service"])
OUTBOX_PENDING = Gauge("parley_outbox_pending", "Outbox rows not yet published", ["service"])
