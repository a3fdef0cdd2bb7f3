"""The console in a real browser (Debian's Chromium, driven by Playwright) against the running platform:
an agent signs in and sees a reminder arrive for a call that falls due, finds only their own leads, moves one on the kanban, edits its call windows, adds a
note, rehearses a simulated call watching the transcript grow, reads that call's needs and
recommendations with their sources, previews, downloads and emails the prospectus and finds the email
on the timeline, imports a CSV with a broken row, reads the page in Hebrew, and is refused the admin
area.
axe-core checks each page; screenshots of each go to var/screenshots/ (not committed)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from servicekit.demo import DEMO_ADMIN, DEMO_AGENT, DEMO_AGENT2

from .conftest import PLATFORM_TEST_TIMEOUT, ROOT, RunningPlatform, login, poll

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(PLATFORM_TEST_TIMEOUT)]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
# What a prospect says in the rehearsal (the offline bot's questions come in this order).
CONVERSATION = [
    "Yes, sure",
    "Life insurance I think",
    "My wife and two kids",
    "I'm forty two",
    "Maybe 50 dollars a month",
    "Yes, that's fine",
    "No, I'm pretty healthy",
    "Nothing through work",
    "Protecting my family if something happens to me",
    "Fairly soon",
    "Yes please",
    "It's kim.{tag}@example.com",
    "Yes, that's right",
    "No, that's all, thanks",
]


@pytest.fixture
async def page(running_platform: RunningPlatform) -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (scripts/system-deps.sh installs it)")
    if not (ROOT / "web" / "dist" / "index.html").exists():
        pytest.fail("the console is not built: run `make web`")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(
            base_url=running_platform.url, viewport={"width": 1366, "height": 900}, locale="en-US"
        )
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page
        finally:
            await browser.close()
        assert not errors, f"the page threw: {errors}"


async def axe_violations(page: Any) -> list[str]:
    """Serious and critical accessibility violations on the page, as "rule: where" lines."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")
    return [
        f"{violation['id']}: {node['target']}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


async def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


async def check_page(page: Any, name: str) -> None:
    await page.wait_for_load_state("networkidle")
    await shoot(page, name)
    assert await axe_violations(page) == [], name


def book_soon(platform: RunningPlatform, tag: str) -> None:
    """A lead of the agent's in a zone where it is early afternoon now (legal whatever the hour the
    test runs), and an admin's booking for it ten minutes from now: inside the reminder's lead time."""
    now = datetime.now(UTC)
    offset = (13 - now.hour + 12) % 24 - 12  # hours east of UTC that make it about 13:00 there
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-3 is UTC+3
    with platform.client() as client:
        admin = login(client, DEMO_ADMIN.email, DEMO_ADMIN.password)
        lead = client.post(
            "/api/leads",
            json={
                "name": f"Reminder Rae {tag}",
                "phone": f"+1617555{int(tag, 16) % 10000:04d}",
                "timezone": zone,
                "assigned_agent_id": str(DEMO_AGENT.id),
            },
            headers=admin,
        )
        assert lead.status_code == 201, lead.text
        at = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
        booked = poll(
            lambda: client.post(
                "/api/scheduler/tasks",
                json={"lead_id": lead.json()["id"], "scheduled_for": at.isoformat(), "force": True},
                headers=admin,
            ),
            lambda response: response.status_code != 404,  # the scheduler has projected the lead
            timeout=30,
        )
        assert booked.status_code == 201, booked.text


async def test_an_agent_works_their_leads_in_the_console(
    running_platform: RunningPlatform, page: Any
) -> None:
    try:
        await agent_session(running_platform, page)
    except BaseException:
        await shoot(page, "failure")  # what the page showed when the test gave up
        raise


async def agent_session(running_platform: RunningPlatform, page: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    with running_platform.client() as client:
        agent = login(client, DEMO_AGENT.email, DEMO_AGENT.password)
        other = login(client, DEMO_AGENT2.email, DEMO_AGENT2.password)
        mine = client.post(
            "/api/leads",
            json={"name": f"Kanban Kim {tag}", "phone": f"+1212555{int(tag, 16) % 10000:04d}"},
            headers=agent,
        )
        assert mine.status_code == 201, mine.text
        lead = mine.json()
        theirs = client.post(
            "/api/leads",
            json={"name": f"Not Yours {tag}", "phone": f"+1312555{int(tag, 16) % 10000:04d}"},
            headers=other,
        )
        assert theirs.status_code == 201, theirs.text

    # Sign in, landing on the page asked for.
    await page.goto("/agent/leads")
    await page.wait_for_url("**/login?next=*")
    await check_page(page, "login")
    await page.get_by_label("Email").fill(DEMO_AGENT.email)
    await page.get_by_label("Password").fill(DEMO_AGENT.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/agent/leads")

    # A call booked for ten minutes from now: its reminder arrives in the open page, live.
    book_soon(running_platform, tag)
    toast = page.get_by_role("status").filter(has_text="A call is due soon")
    await toast.wait_for(timeout=60_000)
    await page.get_by_role("button", name=re.compile(r"Notifications, [1-9]\d* unread")).wait_for()

    # Only the agent's own leads.
    table = page.get_by_role("table", name="Leads")
    await table.get_by_role("link", name=f"Kanban Kim {tag}").wait_for()
    seeded = await table.locator("tbody tr").count()
    assert seeded >= 2 and await page.get_by_text(f"Not Yours {tag}").count() == 0
    await check_page(page, "leads")
    # Search narrows the list to the one lead.
    await page.get_by_label("Search name, phone, email, place").fill(f"kanban kim {tag}")
    await page.wait_for_function("document.querySelectorAll('table tbody tr').length === 1")
    await table.get_by_role("link", name=f"Kanban Kim {tag}").wait_for()

    # Drag the card from New to Contacted: the API has the new status.
    await page.get_by_role("button", name="Kanban").click()
    card = page.get_by_test_id(f"kanban-card-{lead['id']}")
    target = page.get_by_test_id("kanban-column-CONTACTED")
    await card.wait_for()
    box, goal = await card.bounding_box(), await target.bounding_box()
    await page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 10)
    await page.mouse.down()
    for step in range(1, 11):
        await page.mouse.move(
            box["x"] + 20 + (goal["x"] + 40 - box["x"] - 20) * step / 10, goal["y"] + 60, steps=2
        )
    await page.mouse.up()
    await target.get_by_text(f"Kanban Kim {tag}").wait_for()
    await shoot(page, "kanban")
    with running_platform.client() as client:
        poll(
            lambda: client.get(f"/api/leads/{lead['id']}", headers=agent).json()["status"],
            lambda status: status == "CONTACTED",
            timeout=15,
        )

    # The lead page: its timezone from the phone, new call windows, a note.
    await page.goto(f"/agent/leads/{lead['id']}")
    when = page.get_by_role("region", name="When to call")
    await when.get_by_text("from the phone number").wait_for()
    await when.get_by_text("America/New_York").wait_for()
    await page.get_by_role("button", name="Tue 10:00").click()
    await page.get_by_role("button", name="Tue 11:00").click()
    await page.get_by_role("button", name="Save times").click()
    with running_platform.client() as client:
        poll(
            lambda: client.get(f"/api/leads/{lead['id']}", headers=agent).json()["preferred_time_windows"],
            lambda windows: windows == [{"days": ["TUE"], "start": "10:00", "end": "12:00"}],
            timeout=15,
        )
    await page.get_by_label("Add a note").fill("Prefers Tuesday mornings")
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.get_by_text("Prefers Tuesday mornings").first.wait_for()
    await check_page(page, "lead")

    # A simulated call from the lead page: the agent plays the prospect and the transcript grows live.
    await page.get_by_role("button", name="Rehearse (simulated call)").click()
    await page.wait_for_url("**/agent/calls/*")
    transcript = page.get_by_role("log", name="Transcript")
    await transcript.locator("[data-speaker='bot']").first.wait_for()
    prospect = page.get_by_label("You are the prospect: type what they say")
    for number, words in enumerate(CONVERSATION):
        before = await transcript.locator("[data-speaker]").count()
        await prospect.fill(words.format(tag=tag))
        await page.get_by_role("button", name="Send").click()
        await transcript.get_by_text(words.format(tag=tag)).wait_for()
        await page.wait_for_function(
            f"document.querySelectorAll('[role=log] [data-speaker]').length >= {before + 2}"
        )
        if number == 2:
            await check_page(page, "call")
    # The bot closes the call; the panel goes, the call's needs and recommendations come.
    await page.get_by_role("button", name="Send").wait_for(state="detached")
    needs = page.get_by_role("region", name="Needs from this call")
    await needs.get_by_text("life", exact=False).first.wait_for(timeout=90_000)
    recommendations = page.get_by_role("region", name="Recommendations from this call")
    first_product = recommendations.get_by_role("article").first
    await first_product.wait_for(timeout=90_000)
    assert await first_product.get_by_role("list", name="Sources").get_by_role("listitem").count() >= 1
    await check_page(page, "call-ended")

    # The prospectus: preview, PDF, send by email; the email reaches the timeline.
    await page.goto(f"/agent/leads/{lead['id']}/prospectus")
    await page.get_by_title("Prospectus preview").wait_for(timeout=120_000)
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download PDF").click()
    pdf = await (await download.value).path()
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"
    await check_page(page, "prospectus")
    await page.get_by_role("button", name="Send by email").click()
    dialog = page.get_by_role("dialog", name="Send the prospectus?")
    await dialog.get_by_text(f"kim.{tag}@example.com").wait_for()
    await dialog.get_by_role("button", name="Send").click()
    await page.get_by_role("status").get_by_text(f"kim.{tag}@example.com").wait_for()
    await page.goto(f"/agent/leads/{lead['id']}")
    await (
        page.get_by_role("region", name="Timeline")
        .get_by_text("Prospectus emailed")
        .first.wait_for(timeout=60_000)
    )

    # CSV import: the broken row's error is shown before anything is written.
    csv = f"name,phone\nGood Row {tag},+1415555{int(tag, 16) % 10000:04d}\nBroken Row {tag},12\n"
    await page.goto("/agent/import")
    await page.get_by_label("Choose a CSV file").set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    await page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("table", name="Rows with problems")
    await problems.get_by_text("is not a phone number").wait_for()
    await (
        page.get_by_role("table", name="Rows as they will be saved")
        .get_by_text("America/Los_Angeles")
        .wait_for()
    )
    await check_page(page, "import")

    # Today, then Hebrew: right to left.
    await page.goto("/agent/today")
    await page.get_by_role("heading", name="Pipeline").wait_for()
    await check_page(page, "today")
    await page.get_by_role("button", name="Language").click()
    await page.get_by_role("menuitem", name="עברית").click()
    await page.get_by_role("heading", name="היום", exact=True).wait_for()
    assert await page.evaluate("document.documentElement.dir") == "rtl"
    await shoot(page, "today-hebrew")

    # The admin area is not for agents.
    await page.goto("/admin")
    await page.get_by_text("403").wait_for()
    assert await page.evaluate("document.documentElement.dir") == "rtl"  # the choice stays
