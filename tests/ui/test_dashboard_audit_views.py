"""The dashboard, the audit log search and the sign-in lockout page, through Django's test client."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from factories import (
    AuditEventFactory,
    ExceptionCaseFactory,
    InterchangeFactory,
    MessageFactory,
    TransactionFactory,
    UserFactory,
)
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains

from exceptions.models import AuditEvent, ExceptionCase
from exceptions.selectors import dashboard

pytestmark = [pytest.mark.django_db, pytest.mark.dates]

DASHBOARD = reverse("exceptions:dashboard")
AUDIT = reverse("exceptions:audit")


def test_backlog_splits_open_cases_by_kind_and_sla(now):
    ExceptionCaseFactory(kind="NO_TRACE", due_at=now - dt.timedelta(hours=1))
    ExceptionCaseFactory(kind="NO_TRACE", due_at=now + dt.timedelta(days=9))
    ExceptionCaseFactory(kind="DECEASED", due_at=now + dt.timedelta(days=9))
    ExceptionCaseFactory(kind="DECEASED", resolved=True)
    # One row per kind (a list, so a second row for a kind would show), the most overdue first.
    rows = [(r.kind, r.overdue, r.due_soon, r.on_time) for r in dashboard.backlog()]
    assert rows == [("NO_TRACE", 1, 0, 1), ("DECEASED", 0, 0, 1)]


def test_per_day_counts_opened_and_closed_in_london_days(now):
    ExceptionCaseFactory()
    ExceptionCaseFactory(resolved=True)
    old = ExceptionCaseFactory()
    ExceptionCase.objects.filter(pk=old.pk).update(opened_at=now - dt.timedelta(days=40))
    days = dashboard.per_day(14)
    assert len(days) == 14
    assert days[-1].day == timezone.localdate()
    assert (days[-1].opened, days[-1].closed) == (2, 1)
    assert sum(d.opened for d in days) == 2


def test_auto_processing_rate_counts_decisions_that_needed_nobody():
    message = MessageFactory()
    TransactionFactory(message=message, status="DONE", type="G1")
    TransactionFactory(message=message, status="REJECTED", type="G1")  # wrong HA: F3 sent automatically
    manual = TransactionFactory(message=message, status="MANUAL", type="G1")
    resolved_later = TransactionFactory(message=message, status="DONE", type="G2")
    TransactionFactory(message=message, status="PARSED", type="G2")  # not decided yet
    ExceptionCaseFactory(transaction=manual)
    ExceptionCaseFactory(transaction=resolved_later, resolved=True)
    rate = dashboard.auto_processing()
    assert (rate.decided, rate.automatic, rate.percent) == (4, 2, 50.0)
    assert rate.by_type == [("G1", 3, 2), ("G2", 1, 0)]


def test_pipeline_health(now):
    InterchangeFactory(received_at=now - dt.timedelta(minutes=7))
    latest = InterchangeFactory(received_at=now - dt.timedelta(minutes=2))
    message = MessageFactory(interchange=latest)
    TransactionFactory(message=message, status="PARSED")
    TransactionFactory(message=message, status="RETRY_WAIT")
    TransactionFactory(message=message, status="DEAD")
    health = dashboard.pipeline_health()
    assert health.last_poll == latest.received_at
    assert (health.waiting, health.dead_letters, health.missing_recep_links) == (2, 1, 0)


def test_the_dashboard_page_has_figures_tables_and_chart_data(client, agent, now):
    ExceptionCaseFactory(kind="NO_TRACE", due_at=now - dt.timedelta(hours=1))
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    assertInHTML('<h1 class="nhsuk-heading-l">Dashboard</h1>', response.text)
    assertContains(response, '<span class="pcrm-figure__value" id="figure-open">1</span>')
    assertContains(response, '<span class="pcrm-figure__value" id="figure-overdue">1</span>')
    assertContains(response, 'id="backlog-table"')
    assertContains(response, f'href="{reverse("exceptions:case-list")}?view=all&amp;kind=NO_TRACE"')
    assertContains(response, '<script id="dashboard-data" type="application/json">')
    assertContains(response, "/static/chartjs/chart.umd.min.js")
    assertContains(response, 'role="img" aria-label="Bar chart of open cases by kind')
    assertInHTML(
        '<a class="nhsuk-header__navigation-link" href="/dashboard/" aria-current="page">'
        '<strong class="nhsuk-header__navigation-item-current-fallback">Dashboard</strong></a>',
        response.text,
    )


def test_the_dashboard_is_for_queue_users(client):
    client.force_login(UserFactory(roles=["PCSE viewer"]))
    assert client.get(DASHBOARD).status_code == 403


def test_the_audit_log_is_for_leaders_and_administrators(client, agent):
    assert client.get(AUDIT).status_code == 403
    assertNotContains(client.get(reverse("exceptions:case-list")), 'href="/audit/"')


def test_the_audit_log_lists_newest_first_and_searches_by_nhs_number_with_spaces(client, leader):
    agent = UserFactory(username="agent9", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    case = ExceptionCaseFactory(nhs_number="9434765919")
    AuditEventFactory(
        user=agent,
        role="NBO agent",
        action="view_case",
        nhs_number="9434765919",
        object_type="case",
        object_id=str(case.pk),
    )
    AuditEventFactory(
        user=agent,
        role="NBO agent",
        action="case_apply_with_patient",
        nhs_number="9434765919",
        object_type="case",
        object_id=str(case.pk),
        detail={"reason_code": "TRACED_MANUALLY"},
    )
    AuditEventFactory(user=agent, role="NBO agent", action="view_case", nhs_number="9434765870")

    response = client.get(AUDIT)
    assert response.status_code == 200
    assertContains(response, 'id="audit-table"')
    assert response.text.count('<td class="nhsuk-table__cell">Asha Patel</td>') == 3
    assert not AuditEvent.objects.filter(action="search_audit").exists()  # just opening the page is not a search

    response = client.get(AUDIT, {"nhs_number": "943 476 5919"})
    text = response.text[response.text.index('id="audit-table"') :]
    # Each NHS number links to the patient's record (whose page audits the view).
    assert text.count('href="/pds/patients/9434765919/">943 476 5919</a>') == 2
    assert "943 476 5870" not in text
    # The reason in the words the person chose it by, not its code; newest first.
    assert "TRACED_MANUALLY" not in text
    assert text.index("Reason: Found by a manual trace") < text.index("Viewed a case")
    assertContains(response, f'<a class="nhsuk-link" href="/cases/{case.pk}/">Case {case.pk}</a>')
    search = AuditEvent.objects.get(action="search_audit")
    assert (search.user, search.role, search.nhs_number) == (leader, "Team leader", "9434765919")


def test_the_audit_log_filters_by_user_action_case_and_date(client, leader):
    agent = UserFactory(roles=["NBO agent"])
    case = ExceptionCaseFactory()
    mine = AuditEventFactory(user=agent, action="claim_case", object_type="case", object_id=str(case.pk))
    AuditEventFactory(action="view_case", object_type="case", object_id="999")
    other = AuditEvent.objects.get(object_id="999")

    def shown(**params) -> list[int]:
        return [row["event"].pk for row in client.get(AUDIT, params).context["rows"]]

    assert shown(user=agent.pk) == [mine.pk]
    assert shown(action="claim_case") == [mine.pk]
    assert shown(case=case.pk) == [mine.pk]
    today = timezone.localdate().isoformat()
    dated = shown(when_from=today, when_to=today)
    assert mine.pk in dated and other.pk in dated


def test_a_bad_nhs_number_in_the_audit_search_is_an_error(client, leader):
    response = client.get(AUDIT, {"nhs_number": "123"})
    assertContains(response, "<title>Error: Audit log")
    assertContains(response, '<a href="#id_nhs_number">')


def test_audit_pages_are_keyset_pages(client, leader):
    for _ in range(55):
        AuditEventFactory()
    response = client.get(AUDIT)
    assert response.text.count("<time ") == 50
    assertContains(response, 'rel="next"')


def test_a_locked_out_sign_in_gets_the_nhs_lockout_page(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="asha", roles=["NBO agent"])
    login = reverse("login")
    for _ in range(2):
        client.post(login, {"username": "asha", "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(login, {"username": "asha", "password": "correct-horse-battery"}, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assertContains(response, "Too many attempts to sign in", status_code=429)
    assertContains(response, 'class="nhsuk-header"', status_code=429)
    assertContains(response, "You can try again in 15 minutes.", status_code=429)
