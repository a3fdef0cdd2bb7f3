"""The console's typed client is generated from web/openapi.json: it must be the gateway's merged
OpenAPI as the services define it now, so the console and the API never drift apart."""

from __future__ import annotations

from pathlib import Path

from parley_devstack.openapi import merged_openapi, render

COMMITTED = Path(__file__).resolve().parents[3] / "web" / "openapi.json"


def test_the_committed_openapi_is_the_services_current_one():
    current = render(merged_openapi())
    assert COMMITTED.read_text(encoding="utf-8") == current, (
        "web/openapi.json is out of date with the services: run "
        "`.venv/bin/python -m parley_devstack.openapi web/openapi.json && (cd web && npm run gen:api)`"
    )
