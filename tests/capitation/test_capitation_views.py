"""The capitation pages through Django's test client: who may see and do what, the report, htmx partials."""

import datetime as dt
import uuid

import pytest
from capitation_population import CLOSING_DAY, PREVIOUS, Q
from django.urls import reverse
from django.utils import timezone
from factories import UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from pcrm_site.celery import app
from registrations.capitation import close, quarters, snapshot
from registrations.models import OutboxItem, QuarterClose, QuarterStatus

pytestmark = [pytest.mark.django_db, pytest.mark.dates]

LIST = reverse("registrations:capitation:quarter-list")
CLOSE = reverse("registrations:capitation:close")


def report_url(quarter_end=Q, name="report"):
    return reverse(f"registrations:capitation:{name}", args=[quarter_end])


@pytest.fixture
def admin(client):
    user = UserFactory(username="ada.admin", roles=["Administrator"])
    client.force_login(user)
    return user


@pytest.fixture
def pcse(client):
    user = UserFactory(username="pat.pcse", roles=["PCSE viewer"])
    client.force_login(user)
    return user


def generate(quarter_end=Q):
    quarter = close.close_quarter(quarter_end=quarter_end, by="ada.admin", today=CLOSING_DAY).quarter
    return snapshot.take_snapshot(quarter.pk, today=CLOSING_DAY)


@pytest.mark.parametrize("url", [LIST, CLOSE, report_url(), report_url(name="csv")])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    assertRedirects(client.get(url), f"{reverse('login')}?next={url}", fetch_redirect_response=False)


def test_an_agent_cannot_see_capitation(client):
    client.force_login(UserFactory(roles=["NBO agent"]))
    assert client.get(LIST).status_code == 403


def test_a_pcse_viewer_reads_reports_but_cannot_close_or_resend(client, world, pcse):
    generate()
    assert client.get(LIST).status_code == 200
    assert client.get(report_url()).status_code == 200
    assert client.get(report_url(name="csv")).status_code == 200
    assert client.get(CLOSE).status_code == 403
    assert client.post(CLOSE, {"quarter_end": "2026-09-30"}).status_code == 403
    assert client.post(report_url(name="resend")).status_code == 403
    response = client.get(LIST)
    assertNotContains(response, "Close the quarter")
    assertInHTML(
        '<a class="nhsuk-header__navigation-link" href="/registrations/capitation/" aria-current="page">'
        '<strong class="nhsuk-header__navigation-item-current-fallback">Capitation</strong></a>',
        response.text,
    )


def test_the_quarters_list_shows_each_quarter_with_its_status_and_offers_the_due_one(client, world, admin):
    generate()
    response = client.get(LIST)
    assertContains(response, f'<a href="{report_url()}">Quarter ending 31 March 2026</a>', html=True)
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--grey">Ready to send</strong>', response.text)
    due = close.closable_quarter(timezone.localdate())
    assertContains(response, f"{CLOSE}?quarter={due.isoformat()}")


def test_closing_from_the_confirmation_page(client, world, admin):
    due = close.closable_quarter(timezone.localdate())
    page = client.get(CLOSE)
    assert page.status_code == 200
    assertContains(page, f"Close the {quarters.label(due)}?")
    assertContains(page, "send an F8 close-quarter notification to 4 linked practices")
    assertContains(page, f'value="{due.isoformat()}"')

    response = client.post(CLOSE, {"quarter_end": due.isoformat()})

    assertRedirects(response, report_url(due), fetch_redirect_response=False)
    quarter = QuarterClose.objects.get(quarter_end=due)
    assert (quarter.closed_by, quarter.f8_count, quarter.status) == ("ada.admin", 4, QuarterStatus.GENERATING)
    assert str(uuid.UUID(quarter.task_id)) == quarter.task_id  # the snapshot task it started
    assert OutboxItem.objects.filter(tx_type="F8").count() == 4
    # A second press (or a second person) finds the quarter closed and changes nothing.
    again = client.post(CLOSE, {"quarter_end": due.isoformat()}, follow=True)
    assertContains(again, f"The {quarters.label(due)} is already closed.")
    assert OutboxItem.objects.filter(tx_type="F8").count() == 4


@pytest.mark.parametrize("quarter", ["2026-03-30", "2099-12-31", "not-a-date"])
def test_a_quarter_that_cannot_be_closed_is_refused(client, admin, quarter):
    response = client.get(f"{CLOSE}?quarter={quarter}")
    assert response.status_code == 400
    assertContains(response, "This quarter cannot be closed", status_code=400)
    assert client.post(CLOSE, {"quarter_end": quarter}).status_code == 400
    assert not QuarterClose.objects.exists()


def test_while_generating_the_report_page_polls_for_progress(client, world, admin):
    quarter = close.close_quarter(quarter_end=Q, by="ada.admin", today=CLOSING_DAY).quarter
    quarter.task_id = str(uuid.uuid4())
    quarter.save()

    page = client.get(report_url())
    assertContains(page, f'hx-get="{report_url(name="progress")}" hx-trigger="every 1s"')
    assertContains(page, "Waiting for a worker to start")
    assertNotContains(page, "chart.umd.min.js")

    app.backend.store_result(quarter.task_id, {"step": 1, "steps": 4, "text": "Counting patients"}, "PROGRESS")
    try:
        partial = client.get(report_url(name="progress"), HTTP_HX_REQUEST="true")
        assertNotContains(partial, "<html")
        assertContains(partial, "<strong>Step 1 of 4:</strong> Counting patients", html=True)
        assertContains(partial, '<progress class="pcrm-progress" max="4" value="1"')
    finally:
        app.backend.forget(quarter.task_id)

    snapshot.take_snapshot(quarter.pk, today=CLOSING_DAY)
    done = client.get(report_url(name="progress"), HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assertRedirects(client.get(report_url(name="progress")), report_url(), fetch_redirect_response=False)


def test_the_report_shows_totals_charts_practices_and_changes(client, world, admin):
    generate(PREVIOUS)
    quarter = generate()

    response = client.get(report_url())

    assert response.status_code == 200
    rows = {row["key"]: row["value"] for row in response.context["summary_rows"]}
    # PCSE's figures: English practices only (Z99999 has no reference data, so no nation).
    assert rows["Registered patients"] == "11"
    assert rows["Acceptances in the quarter"] == "4" and rows["Deductions in the quarter"] == "5"
    assert rows["Change since the previous quarter"] == "−1 (from 12)"
    charts = response.context["chart_data"]
    assert charts["practices"]["values"] == [5, 5, 1, 1, 0]
    assert charts["bands"]["series"][0] == {"label": "Male", "values": [1, 1, 1, 0, 1, 0, 0, 1]}
    assertContains(response, 'id="capitation-chart-data"')
    assertContains(response, "/static/chartjs/chart.umd.min.js")
    # The practices whose lists changed most, biggest first.
    assert [(c["ods"], c["change"]) for c in response.context["changes"]] == [
        ("A00001", "−1"),
        ("Z99999", "+1"),
    ]
    table = response.context["table"]
    assert [row.record.practice_ods for row in table.paginated_rows] == [
        "A00001",
        "B00002",
        "C00003",
        "D00004",
        "Z99999",
    ]
    assertContains(response, f"Download the CSV ({snapshot.csv_filename(Q)})")
    download = client.get(report_url(name="csv"))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="pcrm-capitation-2026-03-31.csv"'
    assert download.content == bytes(quarter.csv)
    assert client.get(report_url(name="summary")).content == bytes(quarter.summary)


def test_the_practice_table_filters_and_sorts_with_htmx_partials(client, world, admin):
    generate()
    response = client.get(report_url(), {"q": "surgery b"}, HTTP_HX_REQUEST="true")
    assertNotContains(response, "<html")
    assert [row.record.practice_ods for row in response.context["table"].paginated_rows] == ["B00002"]
    assertContains(response, '<p class="nhsuk-body" id="practice-count"><strong>1</strong> practice</p>', html=True)

    by_size = client.get(report_url(), {"sort": "-patients", "ha": "XX1"}, HTTP_HX_REQUEST="true")
    assert [row.record.practice_ods for row in by_size.context["table"].paginated_rows] == [
        "A00001",
        "B00002",
        "C00003",
        "D00004",
    ]
    # The sort links keep the filter and target the table region.
    assertContains(by_size, 'hx-target="#practice-table"')
    assertContains(by_size, "ha=XX1")


def test_a_failed_delivery_can_be_sent_again_by_an_administrator(client, world, admin):
    quarter = generate()
    quarter.status, quarter.send_attempts, quarter.last_error = QuarterStatus.FAILED, 5, "ConnectionError: refused"
    quarter.failed_at = timezone.now()
    quarter.save()
    page = client.get(report_url())
    assertContains(page, "Send to PCSE again")
    assertContains(page, "ConnectionError: refused")

    response = client.post(report_url(name="resend"), follow=True)

    assertContains(response, "is being sent again")
    quarter.refresh_from_db()
    assert quarter.send_attempts == 0


def test_an_unknown_quarter_or_impossible_date_is_not_found(client, admin):
    assert client.get(report_url(dt.date(2026, 3, 31))).status_code == 404
    assert client.get("/registrations/capitation/2026-02-31/").status_code == 404
