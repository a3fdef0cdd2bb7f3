"""The built console served by the gateway: the SPA fallback and the cache rules of its files."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from gateway.api.home import IMMUTABLE, mount_console


def _app(dist: Path) -> FastAPI:
    app = FastAPI()

    @app.get("/api/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    mount_console(app, dist)
    return app


async def test_client_routes_get_the_console_and_hashed_assets_are_cached_for_good(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>")
    (tmp_path / "assets" / "index-3f2a9c.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    transport = httpx.ASGITransport(app=_app(tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        for path in ("/", "/agent/leads/123", "/admin"):
            page = await client.get(path)
            assert page.status_code == 200 and "console" in page.text
            assert page.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/index-3f2a9c.js")
        assert asset.status_code == 200 and asset.headers["cache-control"] == IMMUTABLE
        assert (await client.get("/favicon.svg")).headers["cache-control"] == "no-cache"
        missing = await client.get("/assets/nope.js")
        assert missing.status_code == 404 and "immutable" not in missing.headers.get("cache-control", "")
        assert (await client.get("/api/ping")).json() == {"pong": "yes"}


async def test_without_a_build_the_root_points_the_way(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=_app(tmp_path / "none"))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        landing = await client.get("/")
        assert landing.status_code == 200 and "has not been built" in landing.text
