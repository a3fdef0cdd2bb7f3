"""`/`: the built console when present (SPA fallback), else a small page that points the way."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

# Vite names each built asset by a hash of its content: a name never changes meaning, so browsers keep
# them for a year. index.html (and the other unhashed files) must be asked again each time, so a new
# build reaches everyone on their next visit.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class HashedAssets(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["cache-control"] = IMMUTABLE
        return response


router = APIRouter(include_in_schema=False)

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Parley</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;color:#1f2937}
a{color:#1f4e79}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>Parley is running</h1>
<p>The web console has not been built into this process (<code>web/dist</code> is missing).</p>
<ul><li><a href="/api/docs">API documentation</a> (log in with <code>POST /api/auth/login</code>)</li>
<li><a href="/readyz">Readiness of every service</a></li><li><a href="/metrics">Metrics</a></li></ul>
</body></html>"""


def mount_console(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    if not index.exists():

        @app.get("/", include_in_schema=False)
        async def landing() -> HTMLResponse:
            return HTMLResponse(LANDING)

        return
    if (dist / "assets").is_dir():
        app.mount("/assets", HashedAssets(directory=dist / "assets"), name="console-assets")

    root = dist.resolve()
    files = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    @app.get("/{path:path}", include_in_schema=False)
    async def console(path: str) -> FileResponse:
        # Only files that were in the build are served; every other path is a client-side route.
        return FileResponse(root / path if path in files else index, headers={"cache-control": REVALIDATE})
