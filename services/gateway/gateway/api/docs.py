"""The merged OpenAPI of every service at `/api/openapi.json`, and docs at `/api/docs` (assets served
locally, so the docs work offline)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import swagger_ui_bundle
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .deps import Settings

router = APIRouter(include_in_schema=False)
log = logging.getLogger("gateway.docs")


def merge_openapi(base: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = json.loads(json.dumps(base))
    schemas: dict[str, Any] = merged.setdefault("components", {}).setdefault("schemas", {})
    for name, spec in sorted(services.items()):
        remote = spec.get("components", {}).get("schemas", {})
        renames = {k: f"{name}__{k}" for k, v in remote.items() if k in schemas and schemas[k] != v}
        text = json.dumps(spec)
        for old, new in renames.items():
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
        spec = json.loads(text)
        for key, value in spec.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(key, key)] = value
        for path, item in spec.get("paths", {}).items():
            if path.startswith("/api/"):
                merged["paths"][path] = item
    merged["info"]["title"] = "Parley API"
    return merged


async def fetch_specs(client: httpx.AsyncClient, service_urls: dict[str, str]) -> dict[str, dict[str, Any]]:
    specs = {}
    for name, url in service_urls.items():
        try:
            response = await client.get(url.rstrip("/") + "/openapi.json", timeout=3)
            response.raise_for_status()
            specs[name] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("no OpenAPI from %s: %s", name, exc)
    return specs


@router.get("/api/openapi.json")
async def openapi(request: Request, settings: Settings) -> JSONResponse:
    app: FastAPI = request.app
    specs = await fetch_specs(request.app.state.runtime.extras["http"], settings.service_urls)
    return JSONResponse(merge_openapi(app.openapi(), specs))


@router.get("/api/docs")
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="Parley API",
        swagger_js_url="/docs-static/swagger-ui-bundle.js",
        swagger_css_url="/docs-static/swagger-ui.css",
        swagger_favicon_url="/docs-static/favicon-32x32.png",
    )


def mount_docs_assets(app: FastAPI) -> None:
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")
