"""The operator console in a real Chromium, against the real service, database and simulated
respondents: sign in, create a campaign from a file (after a bad one), import contacts with a
bad row, start it, watch it finish without reloading, read the charts and rates, download the
CSV and compare it with the API's."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.acceptance.processes import Service, free_port, service_env, wait_until
from tests.support.browser import LAUNCH_ARGS, chromium_path
from tests.support.factories import call_window, campaign_document, csv_body

pytestmark = pytest.mark.acceptance

TOKEN = "console-test-token-0123456789"
ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)
NUMBERS = [f"+3902555100{n:02d}" for n in range(1, 21)]
# Respondents who finish within one attempt or two; none waits for an appointment.
MIX = "complete=60,refuse=10,hangup=10,no_answer=10,busy=5,opt_out=5"
# Where `docs/console.md` takes its pictures from: set to refresh them.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    port = free_port()
    env = service_env(
        database_url,
        ADMIN_API_TOKEN=TOKEN,
        MOCK_SIMULATION="on",
        MOCK_SIMULATION_SEED="5",
        MOCK_SIMULATION_MIX=MIX,
        MOCK_STEP_DELAY_SECONDS="0.02",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SCHEDULER_INTERVAL_SECONDS="0.3",
    )
    running = Service(env, tmp_path / "service.log", port=port)
    try:
        wait_until(lambda: "Application startup complete" in running.log(), 60, "start-up")
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.log()


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield launched
        launched.close()


UNLABELLED = """
() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select, button')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                 && !(e.tagName === 'BUTTON' && e.textContent.trim()))
    .map(e => e.outerHTML)
"""


def shoot(page: Page, name: str, tmp_path: Path) -> None:
    assert page.evaluate(UNLABELLED) == [], f"controls without a label on {page.url}"
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000


def test_a_campaign_from_sign_in_to_results_in_the_browser(
    service: Service, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(
        base_url=service.url, accept_downloads=True, viewport={"width": 1100, "height": 800}
    )
    page = context.new_page()

    # Signing in: the console sends a stranger to the sign-in page, refuses a wrong token.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the admin token")
    # By keyboard: the token field has the focus again; Enter sends the form.
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "voicesurvey_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # A document with a mistake is refused with the path of the field at fault.
    bad = campaign_document(call_window=ALL_DAY, max_attempts=0)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True))
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Upload a document file").set_input_files(str(tmp_path / "bad.yaml"))
    page.get_by_role("button", name="Create campaign").click()
    errors = page.locator("#document-errors")
    expect(errors).to_contain_text("max_attempts")
    expect(page.get_by_label("or paste it here")).to_have_value(re.compile("max_attempts: 0"))
    shoot(page, "new-campaign-error", tmp_path)

    good = campaign_document(
        name="Console test", call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[0]
    )
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(good, allow_unicode=True))
    page.get_by_label("Upload a document file").set_input_files(str(tmp_path / "campaign.yaml"))
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name=re.compile("Console test"))).to_be_visible()
    campaign_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#campaign-status")).to_have_text("draft")

    # Contacts: one bad row is listed with its row number; the good ones are imported.
    rows = [[n] for n in NUMBERS[:10]] + [["not a number"]] + [[n] for n in NUMBERS[10:]]
    (tmp_path / "contacts.csv").write_text(csv_body(["phone_number"], *rows))
    page.get_by_label(re.compile("CSV file with a header")).set_input_files(
        str(tmp_path / "contacts.csv")
    )
    page.get_by_role("button", name="Import").click()
    report = page.locator("#import-report")
    expect(report).to_contain_text(f"Imported {len(NUMBERS)} contacts")
    rejected = page.locator("#rejected-rows tbody tr")
    expect(rejected).to_have_count(1)
    expect(rejected.first.locator("td").first).to_have_text("11")  # rows count after the header
    shoot(page, "import-report", tmp_path)

    # Start, then watch it finish on the same page: no reload, the live section updates.
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status").first).to_contain_text("Campaign started")
    url_before = page.url
    expect(page.locator("#campaign-status")).to_have_text("completed", timeout=120_000)
    assert page.url == url_before
    expect(page.locator("#progress")).to_have_text("100 %")
    shoot(page, "campaign", tmp_path)

    with httpx.Client(
        base_url=service.url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=30
    ) as api:
        stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()
        api_csv = api.get(f"/api/campaigns/{campaign_id}/responses", params={"format": "csv"})
    assert stats["status"] == "completed"

    # The rates and charts the page shows are the API's.
    rr1 = stats["rates"]["RR1"]
    expect(page.locator('[data-rate="RR1"]')).to_have_text(f"{100 * rr1:.1f} %")
    expect(page.locator("#completes")).to_have_text(str(stats["responses"]["completed"]))
    for question_id, question in stats["questions"].items():
        card = page.locator(f'[data-question="{question_id}"]')
        expect(card).to_contain_text(f"answered {question['answered']}")
        if question["type"] in {"yes_no", "choice", "scale"}:
            expect(card.locator("svg.chart")).to_have_count(1)
    satisfaction = stats["questions"]["satisfaction"]
    if satisfaction["mean"] is not None:
        expect(page.locator('[data-question="satisfaction"] .mean')).to_contain_text(
            f"mean {satisfaction['mean']:,.2f}".replace(".00", "")
        )

    # "Download CSV" gives the API's file, byte for byte.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    downloaded = Path(download_info.value.path()).read_bytes()
    assert downloaded == api_csv.content
    assert downloaded.count(b"\r\n") == stats["responses"]["total"] + 1

    # The go-live checklist runs from the page.
    page.get_by_role("link", name="Run the checklist").click()
    expect(page.locator("#checklist .verdict")).to_have_text(re.compile("^(GO|NO-GO)$"))
    expect(page.locator("#checklist tbody tr").first).to_be_visible()

    page.get_by_role("link", name="Campaigns").first.click()
    row = page.get_by_role("row", name=re.compile("Console test"))
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text(f"{100 * rr1:.1f} %")
    shoot(page, "campaigns", tmp_path)

    # Signing out ends the session: the console asks for the token again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.goto(f"/console/campaigns/{campaign_id}")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    context.close()
