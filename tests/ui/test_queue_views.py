"""The work queue page through Django's test client: views and counts, filters, search, sorting, keyset pages,
htmx partials, take next and bulk moves."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from factories import ExceptionCaseFactory, HealthAuthorityFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects
from support import working_days_between

from core import presenters
from exceptions.models import AuditEvent, CaseEvent, ExceptionCase

pytestmark = [pytest.mark.django_db, pytest.mark.dates]

CASES = reverse("exceptions:case-list")


@pytest.fixture
def htmx():
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver" + CASES}


def rows(response) -> list[str]:
    """The case ids of the table rows, in order."""
    return re.findall(r'<tr class="nhsuk-table__row" id="case-(\d+)"', response.text)


def ids(*cases) -> list[str]:
    return [str(c.pk) for c in cases]


def test_a_row_shows_what_an_agent_needs_to_pick_a_case(client, agent, now):
    case = ExceptionCaseFactory(
        kind="NO_TRACE",
        summary="NHS number not known to PDS",
        nhs_number="9434765919",
        practice_ods="B82005",
        due_at=now - dt.timedelta(hours=2),
    )
    ExceptionCase.objects.filter(pk=case.pk).update(opened_at=now - dt.timedelta(days=30))

    response = client.get(CASES)

    assert response.status_code == 200
    assertContains(response, "<html", count=1)
    assertInHTML('<h1 class="nhsuk-heading-l">Work queue</h1>', response.text)
    assert rows(response) == ids(case)
    assertContains(response, f'data-case-url="/cases/{case.pk}/"')
    # The row's way in to the case is its name ("Case N" without one); the NHS number opens the patient (#16 item 2).
    assertInHTML(
        f'<a class="nhsuk-link pcrm-case-link" href="/cases/{case.pk}/">'
        f'<span class="pcrm-nowrap">Case {case.pk}</span></a>',
        response.text,
    )
    assertInHTML('<a class="nhsuk-link pcrm-nowrap" href="/pds/patients/9434765919/">943 476 5919</a>', response.text)
    assertNotContains(response, ">9434765919<")
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">No trace</strong>', response.text)
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--red">Overdue</strong>', response.text)
    assertContains(response, "B82005")
    assertContains(response, "NHS number not known to PDS")
    assertContains(response, "Unassigned")
    # Age is in working days (weekends and England's bank holidays do not count), counted day by day
    # from the project's calendar: the page uses a constant-time version of the same rule.
    opened = timezone.localtime(now - dt.timedelta(days=30)).date()
    expected = working_days_between(opened, timezone.localdate())
    assertInHTML(f'<span class="pcrm-age">{expected} days old</span>', response.text)
    # The received and due dates in the one NHS.UK format, and the status in words.
    assertContains(response, presenters.nhs_date(now - dt.timedelta(days=30)))
    assertContains(response, presenters.nhs_date(now - dt.timedelta(hours=2)))
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">Not started</strong>', response.text)
    # Take next is the page's primary button, and the bulk bar is there for agents.
    assertInHTML(
        '<button type="submit" class="nhsuk-button" data-module="nhsuk-button" id="take-next"'
        ' data-prevent-double-click="true">Take next case</button>',
        response.text,
    )
    assertContains(response, 'id="bulk-form"')
    assertContains(
        response, f'id="select-case-{case.pk}" name="case" type="checkbox" value="{case.pk}" form="bulk-form"'
    )


def test_views_show_counts_and_the_default_is_unassigned(client, agent, agent2):
    mine = ExceptionCaseFactory(assigned_to=agent, status="IN_PROGRESS")
    theirs = ExceptionCaseFactory(assigned_to=agent2, status="IN_PROGRESS")
    free = ExceptionCaseFactory()
    ExceptionCaseFactory(resolved=True)

    response = client.get(CASES)
    assert rows(response) == ids(free)
    assertInHTML(
        '<a class="pcrm-sub-navigation__link" href="?view=unassigned" id="view-unassigned" aria-current="page"'
        ' hx-get="?view=unassigned" hx-target="#queue" hx-push-url="true">'
        'Unassigned <span class="pcrm-count">1</span></a>',
        response.text,
    )
    assertContains(response, 'My work <span class="pcrm-count">1</span>')
    assertContains(response, 'Team <span class="pcrm-count">2</span>')
    assertContains(response, 'All <span class="pcrm-count">3</span>')

    assert rows(client.get(CASES, {"view": "mine"})) == ids(mine)
    assert sorted(rows(client.get(CASES, {"view": "team"}))) == sorted(ids(mine, theirs))
    assert sorted(rows(client.get(CASES, {"view": "all"}))) == sorted(ids(mine, theirs, free))
    team = client.get(CASES, {"view": "team"})
    assertContains(team, "Sam Second")
    assertContains(team, 'id="view-team" aria-current="page"')


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "DECEASED"}, ["deceased"]),
        ({"status": "RESOLVED"}, ["resolved"]),
        ({"status": "any"}, ["deceased", "no_trace", "overdue", "resolved"]),
        ({"sla": "overdue"}, ["overdue"]),
        ({"practice": "a81002"}, ["deceased"]),
        ({"ha": "XX1"}, ["no_trace"]),
        ({"received_from": "2026-03-02", "received_to": "2026-03-02"}, ["overdue"]),
    ],
)
def test_filters_narrow_the_queue(client, agent, params, expected, now):
    HealthAuthorityFactory(cipher="XX1")
    named = {
        "deceased": ExceptionCaseFactory(kind="DECEASED", practice_ods="A81002"),
        "no_trace": ExceptionCaseFactory(kind="NO_TRACE", ha_cipher="XX1"),
        "overdue": ExceptionCaseFactory(kind="UNKNOWN_GP", due_at=now - dt.timedelta(days=1)),
        "resolved": ExceptionCaseFactory(kind="NO_TRACE", resolved=True),
    }
    ExceptionCase.objects.filter(pk=named["overdue"].pk).update(
        opened_at=timezone.make_aware(dt.datetime(2026, 3, 2, 23, 30))
    )
    response = client.get(CASES, {"view": "all", **params})
    assert sorted(rows(response)) == sorted(ids(*(named[n] for n in expected)))
    assertContains(response, "matching case")
    # The filter panel stays open when something narrows the list.
    assertContains(response, '<details class="nhsuk-details pcrm-filter__details" open>')


def test_the_assignee_filter_knows_me_and_nobody(client, agent, agent2):
    mine = ExceptionCaseFactory(assigned_to=agent, status="IN_PROGRESS")
    theirs = ExceptionCaseFactory(assigned_to=agent2, status="IN_PROGRESS")
    free = ExceptionCaseFactory()
    assert rows(client.get(CASES, {"view": "all", "assignee": "me"})) == ids(mine)
    assert rows(client.get(CASES, {"view": "all", "assignee": "none"})) == ids(free)
    assert rows(client.get(CASES, {"view": "all", "assignee": str(agent2.pk)})) == ids(theirs)


def test_search_by_nhs_number_accepts_spaces_finds_any_status_and_is_audited(client, agent):
    resolved = ExceptionCaseFactory(nhs_number="9434765919", resolved=True)
    open_case = ExceptionCaseFactory(nhs_number="9434765919")
    ExceptionCaseFactory(nhs_number="9434765870")

    response = client.get(CASES, {"view": "all", "q": "943 476 5919"})

    assert sorted(rows(response)) == sorted(ids(resolved, open_case))
    event = AuditEvent.objects.get(action="search_queue")
    assert (event.user, event.role, event.nhs_number) == (agent, "NBO agent", "9434765919")
    # Typed with dashes, too.
    assert sorted(rows(client.get(CASES, {"view": "all", "q": "943-476-5919"}))) == sorted(ids(resolved, open_case))


@pytest.mark.parametrize(
    ("typed", "message"),
    [("12345", "Enter a 10-digit NHS number"), ("943 476 5918", "fails its check digit")],
)
def test_a_bad_nhs_number_is_an_error_summary_and_no_results(client, agent, typed, message):
    ExceptionCaseFactory()
    response = client.get(CASES, {"q": typed})
    assert response.status_code == 200
    assertContains(response, "<title>Error: Work queue")
    assertContains(response, 'class="nhsuk-error-summary"')
    assertContains(response, '<a href="#id_q">')
    assertContains(response, message)
    assertContains(response, 'aria-describedby="id_q-hint id_q-error"')
    assert rows(response) == []
    assert not AuditEvent.objects.filter(action="search_queue").exists()


def test_the_first_render_has_sort_links_that_work_with_and_without_javascript(client, agent):
    ExceptionCaseFactory()
    response = client.get(CASES)
    assertInHTML(
        '<th scope="col" class="nhsuk-table__header orderable" data-sort>'
        '<a class="nhsuk-link" id="sort-kind" href="/cases/?sort=kind" hx-get="/cases/?sort=kind"'
        ' hx-target="#queue" hx-push-url="true">Kind</a></th>',
        response.text,
    )
    # The default order (most urgent first) is announced on the Due column; its link offers the reverse.
    assertInHTML(
        '<th scope="col" class="nhsuk-table__header asc orderable" data-sort aria-sort="ascending">'
        '<a class="nhsuk-link" id="sort-sla" href="/cases/?sort=-sla" hx-get="/cases/?sort=-sla"'
        ' hx-target="#queue" hx-push-url="true">Due</a></th>',
        response.text,
    )
    assertInHTML('<th scope="col" class="nhsuk-table__header">Summary</th>', response.text)


def test_sorting_orders_the_rows_and_drops_the_cursor(client, agent):
    b = ExceptionCaseFactory(practice_ods="B00002")
    a = ExceptionCaseFactory(practice_ods="A00001")
    assert rows(client.get(CASES, {"sort": "practice_ods"})) == ids(a, b)
    assert rows(client.get(CASES, {"sort": "-practice_ods"})) == ids(b, a)
    response = client.get(CASES, {"sort": "kind", "after": "abc", "kind": "NO_TRACE"})
    assertContains(response, 'href="/cases/?sort=-kind&amp;kind=NO_TRACE"')


def test_keyset_pages_go_forwards_and_back_with_htmx_links(client, agent, htmx, now):
    cases = [ExceptionCaseFactory(due_at=now + dt.timedelta(hours=i)) for i in range(30)]

    first = client.get(CASES)
    assert rows(first) == ids(*cases[:25])
    assertContains(first, "<strong>30</strong> cases")
    assertNotContains(first, 'rel="prev"')
    next_href = re.search(
        r'href="(/cases/\?after=[^"]+)" class="nhsuk-pagination__next"|'
        r'<a href="(/cases/\?after=[^"]+)"[^>]*rel="next"',
        first.text,
    )
    href = (next_href.group(1) or next_href.group(2)).replace("&amp;", "&")
    assertContains(first, f'hx-get="{href.replace("&", "&amp;")}" hx-target="#queue" hx-push-url="true"')

    second = client.get(href, **htmx)
    assert "<html" not in second.text
    assert rows(second) == ids(*cases[25:])
    assertContains(second, 'rel="prev"')
    assertContains(second, 'id="page-first"')
    assertNotContains(second, 'rel="next"')
    prev = re.search(r'<a href="(/cases/\?before=[^"]+)" class="nhsuk-pagination__previous"', second.text).group(1)
    assert rows(client.get(prev.replace("&amp;", "&"))) == ids(*cases[:25])


def test_an_htmx_request_gets_only_the_queue_partial(client, agent, htmx):
    ExceptionCaseFactory(nhs_number="9434765919")
    response = client.get(CASES, {"sort": "kind"}, **htmx)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "<h1" not in response.text
    assert 'id="queue"' not in response.text  # the wrapper stays on the page; only its inside is swapped
    assertContains(response, 'class="pcrm-sub-navigation"')
    assertContains(response, 'id="case-count"')
    assertContains(response, "943 476 5919")
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(client, agent, htmx):
    response = client.get(CASES, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **htmx)
    assertContains(response, "<html", count=1)
    assertContains(response, 'id="queue"')


def test_an_empty_queue_says_so(client, agent):
    response = client.get(CASES)
    assertContains(response, "No cases match.")
    assertContains(response, "<strong>0</strong> cases")


def test_take_next_claims_and_opens_the_most_urgent_case(client, agent, now):
    ExceptionCaseFactory(due_at=now + dt.timedelta(days=3))
    urgent = ExceptionCaseFactory(due_at=now + dt.timedelta(days=1))
    response = client.post(reverse("exceptions:take-next"))
    assertRedirects(response, reverse("exceptions:case-detail", args=[urgent.pk]), fetch_redirect_response=False)
    assert ExceptionCase.objects.get(pk=urgent.pk).assigned_to == agent


def test_take_next_with_nothing_left_says_so(client, agent):
    client.get(CASES, {"view": "mine"})
    response = client.post(reverse("exceptions:take-next"), follow=True)
    assert response.redirect_chain[-1][0] == f"{CASES}?view=mine"  # back where the user was
    assertContains(response, "There are no unassigned cases to take.")


def test_take_next_needs_a_post_and_the_right_to_work(client):
    client.force_login(UserFactory(roles=["PCSE viewer"]))
    assert client.post(reverse("exceptions:take-next")).status_code == 403
    client.force_login(UserFactory(roles=["NBO agent"]))
    assert client.get(reverse("exceptions:take-next")).status_code == 405


def test_bulk_claim_and_release(client, agent, agent2):
    a, b = ExceptionCaseFactory(), ExceptionCaseFactory()
    theirs = ExceptionCaseFactory(assigned_to=agent2, status="IN_PROGRESS")
    url = reverse("exceptions:bulk")
    response = client.post(
        url, {"action": "claim", "case": [a.pk, b.pk, theirs.pk], "next": f"{CASES}?view=all"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{CASES}?view=all"
    assertContains(response, "Claimed 2 cases.")
    assertContains(response, f"Not changed — Case {theirs.pk} is already assigned to Sam Second.")
    assert set(ExceptionCase.objects.filter(assigned_to=agent).values_list("pk", flat=True)) == {a.pk, b.pk}

    client.post(url, {"action": "release", "case": [a.pk], "next": CASES})
    assert ExceptionCase.objects.get(pk=a.pk).assigned_to is None
    assert CaseEvent.objects.filter(case=a, action="released").exists()


def test_team_leaders_bulk_assign(client, leader, agent2):
    cases = ExceptionCaseFactory.create_batch(3)
    response = client.get(CASES)
    assertContains(response, 'id="bulk-assign"')
    response = client.post(
        reverse("exceptions:bulk"),
        {"action": "assign", "assignee": agent2.pk, "case": [c.pk for c in cases], "next": CASES},
        follow=True,
    )
    assertContains(response, "Assigned to Sam Second: 3 cases.")
    assert ExceptionCase.objects.filter(assigned_to=agent2).count() == 3


def test_agents_cannot_bulk_assign_and_are_told_why(client, agent, agent2):
    case = ExceptionCaseFactory()
    assertNotContains(client.get(CASES), 'id="bulk-assign"')
    response = client.post(
        reverse("exceptions:bulk"),
        {"action": "assign", "assignee": agent2.pk, "case": [case.pk], "next": f"{CASES}?view=all"},
    )
    assert response.status_code == 400
    assertContains(response, "Only team leaders can assign cases to colleagues", status_code=400)
    assert ExceptionCase.objects.get(pk=case.pk).assigned_to is None


def test_a_bulk_move_with_nothing_ticked_shows_the_queue_again_with_an_error(client, agent):
    case = ExceptionCaseFactory()
    response = client.post(reverse("exceptions:bulk"), {"action": "claim", "next": f"{CASES}?view=all&sort=kind"})
    assert response.status_code == 400
    assertContains(response, "<title>Error: Work queue", status_code=400)
    assertContains(response, '<a href="#bulk_case">Select at least one case</a>', status_code=400)
    # The same queue page, with its links built for the queue, not for the bulk URL.
    assert rows(response) == ids(case)
    assertContains(response, 'id="view-all" aria-current="page"', status_code=400)
    assertContains(response, 'href="/cases/?view=all&amp;sort=-kind"', status_code=400)


def test_there_is_no_bulk_resolve_or_reject(client, agent):
    case = ExceptionCaseFactory()
    for action in ("reject_to_practice", "apply_with_patient", "merge"):
        response = client.post(reverse("exceptions:bulk"), {"action": action, "case": [case.pk], "next": CASES})
        assert response.status_code == 400
    assert ExceptionCase.objects.get(pk=case.pk).status == "OPEN"


def test_bulk_next_must_stay_on_this_site(client, agent):
    case = ExceptionCaseFactory()
    response = client.post(
        reverse("exceptions:bulk"), {"action": "claim", "case": [case.pk], "next": "https://evil.example/"}
    )
    assertRedirects(response, CASES, fetch_redirect_response=False)
