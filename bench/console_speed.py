"""The console's speed as an agent feels it, in Chromium against the running platform with 10,000 leads.

    .venv/bin/python bench/console_speed.py [--leads 10000] [--runs 7]

Starts the platform on its embedded defaults (`python -m parley_devstack up` in a temporary folder, the
console built by `make web`), imports the leads for the demo agent through the CSV import API, then in
Debian's Chromium (Playwright) measures, each over several runs:
- login: from the click on "Sign in" to the Today page showing the pipeline counts;
- leads: from the click on "Leads" in the navigation to the first page of the table rendered;
- the JavaScript the login route loads, gzip-compressed (what a gzip-serving proxy sends).
Prints a table with the target beside each figure. It measures once the scheduler has planned the
imported leads' first calls (the import's backlog is not the console's speed).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
URL = "http://127.0.0.1:8080"
AGENT = ("agent@example.com", "agent-demo")
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
TARGETS = {"login": 1.5, "leads": 0.5, "login_js_kb": 250.0}


def start_platform(root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WEB_DIST_DIR": str(ROOT / "web" / "dist"), "LOG_JSON": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "parley_devstack", "up", "--root", str(root)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if "Parley is up" in line:
            # Keep reading so the supervisor never blocks on a full pipe.
            threading.Thread(target=lambda: [*iter(process.stdout.readline, "")], daemon=True).start()
            return process
    process.kill()
    raise SystemExit("the platform did not start")


def seed_leads(count: int) -> None:
    area_codes = ["212", "310", "415", "312", "617", "206", "305", "512"]
    rows = ["name,phone,age,source"]
    for index in range(count):
        area = area_codes[index // 9000]
        rows.append(f"Bench Lead {index:05d},+1{area}555{index % 9000 + 1000:04d},{20 + index % 50},bench")
    with httpx.Client(base_url=URL, timeout=300) as client:
        token = client.post("/api/auth/login", json={"email": AGENT[0], "password": AGENT[1]}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        data = ("\n".join(rows) + "\n").encode()
        response = client.post(
            "/api/leads/import", files={"file": ("bench.csv", data, "text/csv")}, headers=headers
        )
        response.raise_for_status()
        print(f"seeded {response.json()['imported']} leads")
        # Measure once the platform has digested them (the scheduler plans every new lead's first
        # call): the figures are the console's, not the import's backlog.
        last, stable_since, deadline = -1, time.monotonic(), time.monotonic() + 600
        while time.monotonic() < deadline:
            total = client.get("/api/scheduler/tasks", params={"page_size": 1}, headers=headers).json()["total"]
            if total != last:
                last, stable_since = total, time.monotonic()
            elif time.monotonic() - stable_since > 15:
                break
            time.sleep(3)
        print(f"the scheduler planned {last} calls; measuring")


async def measure(runs: int) -> dict[str, list[float]]:
    from playwright.async_api import async_playwright

    results: dict[str, list[float]] = {"login": [], "leads": [], "login_js_kb": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(runs):
            # A fresh context each run: no cached assets, no session (a first visit of the day).
            context = await browser.new_context(base_url=URL, viewport={"width": 1366, "height": 900})
            page = await context.new_page()
            scripts: list[bytes] = []

            async def keep(response, scripts=scripts):  # type: ignore[no-untyped-def]
                if response.request.resource_type == "script":
                    scripts.append(await response.body())

            page.on("response", keep)
            await page.goto("/login")
            await page.get_by_role("button", name="Sign in").wait_for()
            await page.wait_for_load_state("networkidle")
            results["login_js_kb"].append(sum(len(_gzip(body)) for body in scripts) / 1024)
            page.remove_listener("response", keep)
            await page.get_by_label("Email").fill(AGENT[0])
            await page.get_by_label("Password").fill(AGENT[1])
            started = time.perf_counter()
            await page.get_by_role("button", name="Sign in").click()
            # Interactive: the pipeline's counts are on screen and can be clicked.
            await page.get_by_role("region", name="Pipeline").get_by_role("link").first.wait_for()
            results["login"].append(time.perf_counter() - started)

            started = time.perf_counter()
            await page.get_by_role("link", name="Leads").click()
            await page.locator("table tbody tr").first.wait_for()
            results["leads"].append(time.perf_counter() - started)
            await context.close()
        await browser.close()
    return results


def _gzip(body: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6) as handle:
        handle.write(body)
    return buffer.getvalue()


def report(results: dict[str, list[float]], leads: int) -> None:
    print(f"\nconsole speed, Chromium, {leads} leads, {len(results['login'])} runs, 2 cores")
    print(f"{'measure':<40} {'p50':>9} {'best':>9} {'worst':>9} {'target':>9}")
    rows = [
        ("login -> Today interactive (s)", "login", "≤ 1.5"),
        ("Leads -> first page rendered (s)", "leads", "≤ 0.5"),
        ("login route JavaScript (KB gzip)", "login_js_kb", "≤ 250"),
    ]
    for label, key, target in rows:
        values = results[key]
        print(
            f"{label:<40} {statistics.median(values):>9.2f} {min(values):>9.2f} {max(values):>9.2f} {target:>9}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("build the console first: make web")
    with tempfile.TemporaryDirectory() as root:
        process = start_platform(Path(root))
        try:
            seed_leads(args.leads)
            results = asyncio.run(measure(args.runs))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    report(results, args.leads)


if __name__ == "__main__":
    main()
