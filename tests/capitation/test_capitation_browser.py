"""In a real browser: an administrator closes a quarter, watches it generate, and reads the report.

Given/when/then, with an axe accessibility check on each page. The worker is started only after the
quarter is closed, so the page is seen waiting and then following the task's progress by itself.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from capitation_population import build_world
from django.utils import timezone
from factories import UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, screenshot, sign_in, wait_for

from pds.models import GPPeriod
from registrations.capitation import close, presenters, quarters, snapshot
from registrations.models import QuarterClose

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_administrator_closes_the_quarter_and_reads_the_capitation_report(
    browser_page: Page, live_server, celery_worker_process, transactional_db, mesh_as, settings
):
    page = browser_page
    world = build_world()
    due = close.closable_quarter(timezone.localdate())
    before = quarters.previous_quarter_end(due)
    # The quarter before was closed already; since then B00002 accepted one more patient.
    snapshot.take_snapshot(close.close_quarter(quarter_end=before, by="scheduler").quarter.pk)
    moved_on = before + dt.timedelta(days=9)
    GPPeriod.objects.filter(patient=world.patients["P12"], practice_ods="A00001").update(end=moved_on)
    GPPeriod.objects.create(patient=world.patients["P12"], practice_ods="B00002", start=moved_on)
    UserFactory(username="ada.admin", first_name="Ada", last_name="Admin", roles=["Administrator"])

    # Given an administrator signed in, when they open Capitation, then the quarter that ended is offered.
    page.goto(f"{live_server.url}/accounts/login/?next=/registrations/capitation/")
    sign_in(page, "ada.admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Capitation")
    expect(page.get_by_role("row").filter(has_text=presenters.title(before))).to_contain_text("Ready to send")
    assert_accessible(page)

    # When they choose to close it, then a confirmation page says what will happen.
    page.get_by_role("link", name=f"Close the {quarters.label(due)}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close the {quarters.label(due)}?")
    expect(page.get_by_role("main")).to_contain_text("F8 close-quarter notification to 4 linked practices")
    assert_accessible(page)

    # When they confirm, then the report page shows the generation waiting for a worker, polling.
    page.get_by_role("button", name="Close the quarter and send").click()
    expect(page.get_by_text("Generating the capitation report")).to_be_visible()
    expect(page.locator("#capitation-progress")).to_contain_text("Waiting for a worker to start")
    expect(page.get_by_role("alert")).to_contain_text("4 F8 notifications queued")
    assert_accessible(page)
    with page.expect_request(lambda r: r.url.endswith("/progress/") and r.headers.get("hx-request") == "true"):
        pass

    # When a worker picks the task up, then the page turns into the report by itself.
    celery_worker_process()
    expect(page.get_by_role("heading", name="Totals")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_contain_text(presenters.title(due))
    totals = page.locator("dl.nhsuk-summary-list").first
    expect(totals).to_contain_text("Registered patients")
    quarter = QuarterClose.objects.get(quarter_end=due)
    expect(totals.locator(".nhsuk-summary-list__row").first).to_contain_text(f"{quarter.patients:,}")
    # Both charts are drawn (Chart.js from node_modules), with the age-band table alongside.
    assert page.evaluate("() => !!Chart.getChart('chart-practices') && !!Chart.getChart('chart-age-bands')")
    expect(page.locator("#age-band-table tbody tr")).to_have_count(8)
    # The difference from the previous quarter: A00001 lost P12 to B00002.
    changes = page.locator("#change-table")
    expect(changes.get_by_role("row").filter(has_text="A00001")).to_contain_text("−1")
    expect(changes.get_by_role("row").filter(has_text="B00002")).to_contain_text("+1")
    assert_accessible(page)
    screenshot(page, "capitation-report")

    # When they filter the practices, then htmx swaps only the table and the address keeps the filter.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Practice code or name").fill("surgery b")
    with page.expect_request(lambda r: "q=surgery" in r.url) as filter_request:
        page.get_by_role("button", name="Filter").click()
    assert filter_request.value.headers.get("hx-request") == "true"
    expect(page.locator("#practice-count")).to_have_text("1 practice")
    expect(page).to_have_url(re.compile(r"\?q=surgery(\+|%20)b"))
    assert page.evaluate("window.__sameDocument") is True

    # When they clear the filter and sort by list size, then the biggest list comes first.
    page.get_by_label("Practice code or name").fill("")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#practice-count")).to_have_text("5 practices")
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("columnheader", name="Patients", exact=True)).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("columnheader", name="Patients", exact=True)).to_have_attribute("aria-sort", "descending")
    first = page.locator("#practice-table tbody tr").first.locator("td").first
    expect(first).to_have_text(re.compile("A00001|B00002"))

    # When they download the CSV, then it is the stored file, byte for byte.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download the CSV")).click()
    quarter.refresh_from_db()
    assert Path(download.value.path()).read_bytes() == bytes(quarter.csv)
    assert download.value.suggested_filename == f"pcrm-capitation-{due.isoformat()}.csv"

    # And the report reached PCSE: once the worker has sent it (waited for in the database, as the
    # worker is another process), the page says so, and PCSE's mailbox holds the CSV.
    wait_for(lambda: QuarterClose.objects.filter(pk=quarter.pk, status="SENT").exists(), message="the report sent")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sent to PCSE")
    quarter.refresh_from_db()
    with mesh_as(settings.MESH_PCSE_MAILBOX) as pcse:
        assert quarter.csv_message_id in pcse.list_messages()
