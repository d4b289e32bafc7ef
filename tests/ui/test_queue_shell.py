"""#16 items 4, 5, 8, 10, 15 on the work queue, through Django's test client: search everywhere, filters
that explain themselves, take next within the filters, the Escalated view and work per person, saved
filters, the three-field date input."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from exceptions.models import AuditEvent, ExceptionCase, SavedFilter

pytestmark = [pytest.mark.django_db, pytest.mark.dates]

CASES = reverse("exceptions:case-list")
TAKE_NEXT = reverse("exceptions:take-next")


def rows(response) -> list[str]:
    return re.findall(r'<tr class="nhsuk-table__row" id="case-(\d+)"', response.text)


# --- item 4: search finds cases wherever they are ---------------------------------------------------------


def test_a_name_search_finds_open_and_closed_cases_from_any_view_with_their_status(client, casework, agent):
    jane = casework.open(nhs_number=None, surname="STEVENS", forenames=["JANE"])
    closed = casework.open(nhs_number=None, surname="STEVENS", forenames=["JANET"])
    ExceptionCase.objects.filter(pk=closed.pk).update(status="RESOLVED", closed_at=closed.opened_at)
    other = casework.open(nhs_number=None, surname="JONES", forenames=["JANE"])

    # Typed in "My work" (which holds none of them): the search still looks at every case.
    response = client.get(CASES, {"view": "mine", "q": "Stevens"})
    assert sorted(rows(response)) == sorted([str(jane.pk), str(closed.pk)])
    assertContains(response, "searched in every view and status")
    assertContains(response, "STEVENS, Jane")
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--green">Resolved</strong>', response.text)
    assert str(other.pk) not in rows(response)

    # A forename narrows by its start; "surname, forename" works too.
    assert rows(client.get(CASES, {"q": "Janet Stevens"})) == [str(closed.pk)]
    assert rows(client.get(CASES, {"q": "stevens, jane"})) == sorted([str(jane.pk), str(closed.pk)], key=int)
    audit = AuditEvent.objects.filter(action="search_queue").first()
    assert audit.detail["name"] and audit.user == agent


def test_an_nhs_number_search_from_the_unassigned_view_finds_a_held_case(client, agent):
    held = ExceptionCaseFactory(
        nhs_number="9434765919", assigned_to=UserFactory(roles=["NBO agent"]), status="IN_PROGRESS"
    )
    response = client.get(CASES, {"view": "unassigned", "q": "943 476 5919"})
    assert rows(response) == [str(held.pk)]
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--yellow">In progress</strong>', response.text)


def test_a_search_that_is_neither_a_number_nor_a_name_says_what_to_type(client, agent):
    response = client.get(CASES, {"q": "st3vens!"})
    assertContains(response, "<title>Error: Work queue")
    assertContains(response, "Enter a 10-digit NHS number")


def test_an_inverted_date_range_and_an_unknown_practice_explain_themselves(client, agent):
    ExceptionCaseFactory(practice_ods="A81001")
    inverted = {
        "received_from-day": "10", "received_from-month": "11", "received_from-year": "2026",
        "received_to-day": "1", "received_to-month": "11", "received_to-year": "2026",
    }  # fmt: skip
    response = client.get(CASES, inverted)
    assertContains(response, "<title>Error: Work queue")
    assertContains(response, "Received to must be the same as or after received from")
    assertContains(response, 'href="#id_received_to-day"')

    unknown = client.get(CASES, {"practice": "Z99999"})
    assertContains(unknown, "No practice has the ODS code Z99999: check the code")
    badly_typed = client.get(CASES, {"practice": "81001"})
    assertContains(badly_typed, "Practice ODS code must be a letter and 5 digits")
    # A practice that only appears on cases is still known.
    assert client.get(CASES, {"practice": "a81001"}).context["filter_errors"] is None


def test_the_received_dates_are_typed_in_three_boxes_and_old_links_still_work(client, agent, now):
    case = ExceptionCaseFactory()
    today = case.opened_at.date()
    three = {"received_from-day": today.day, "received_from-month": today.month, "received_from-year": today.year}
    assert rows(client.get(CASES, three)) == [str(case.pk)]
    assert rows(client.get(CASES, {"received_from": (today + dt.timedelta(days=1)).isoformat()})) == []
    half = client.get(CASES, {"received_from-day": "3", "received_from-year": "2026"})
    assertContains(half, "Received from must include a month")


# --- item 5: take next within the filters -------------------------------------------------------------


def test_take_next_keeps_to_the_queues_filters_and_says_when_none_are_left(client, agent, now):
    urgent = ExceptionCaseFactory(kind="NO_TRACE", due_at=now - dt.timedelta(days=2))
    deceased = ExceptionCaseFactory(kind="DECEASED", due_at=now + dt.timedelta(days=2))
    response = client.post(TAKE_NEXT, {"queue": f"{CASES}?kind=DECEASED"})
    assertRedirects(response, reverse("exceptions:case-detail", args=[deceased.pk]), fetch_redirect_response=False)

    none_left = client.post(TAKE_NEXT, {"queue": f"{CASES}?kind=DECEASED"}, follow=True)
    assertContains(none_left, "There are no unassigned cases like this left (Kind: Deceased)")
    assert ExceptionCase.objects.get(pk=urgent.pk).assigned_to is None

    # Without filters, the most urgent case of any kind.
    anything = client.post(TAKE_NEXT, {"queue": CASES})
    assertRedirects(anything, reverse("exceptions:case-detail", args=[urgent.pk]), fetch_redirect_response=False)


def test_take_next_from_a_case_page_uses_the_queue_page_last_seen(client, agent, now):
    ExceptionCaseFactory(kind="NO_TRACE", due_at=now - dt.timedelta(days=2))
    deceased = ExceptionCaseFactory(kind="DECEASED", due_at=now + dt.timedelta(days=2))
    client.get(CASES, {"kind": "DECEASED"})
    response = client.post(TAKE_NEXT)
    assertRedirects(response, reverse("exceptions:case-detail", args=[deceased.pk]), fetch_redirect_response=False)


# --- item 8: escalations and workload for leaders -----------------------------------------------------------


def test_leaders_see_an_escalated_view_with_its_count_and_agents_do_not(client, leader, now):
    escalated = ExceptionCaseFactory(status="IN_PROGRESS", assigned_to=None)
    ExceptionCaseFactory()
    response = client.get(CASES, {"view": "escalated"})
    assert rows(response) == [str(escalated.pk)]
    assertInHTML(
        '<a class="pcrm-sub-navigation__link" href="?view=escalated" id="view-escalated" aria-current="page"'
        ' hx-get="?view=escalated" hx-target="#queue" hx-push-url="true">'
        'Escalated <span class="pcrm-count">1</span></a>',
        response.text,
    )
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--purple">Escalated</strong>', response.text)

    client.force_login(UserFactory(roles=["NBO agent"]))
    assertNotContains(client.get(CASES), "view-escalated")


def test_work_per_person_counts_what_each_holds(client, leader, now):
    asha = UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    ExceptionCaseFactory(assigned_to=asha, status="IN_PROGRESS", due_at=now - dt.timedelta(hours=1))
    ExceptionCaseFactory(assigned_to=asha, status="IN_PROGRESS", due_at=now + dt.timedelta(days=20))
    ExceptionCaseFactory(assigned_to=asha, resolved=True)
    ExceptionCaseFactory(status="IN_PROGRESS", assigned_to=None)
    response = client.get(reverse("exceptions:workload"))
    assert response.status_code == 200
    row = next(p for p in response.context["people"] if p.name == "Asha Patel")
    assert (row.held, row.overdue, row.due_soon) == (2, 1, 0)
    assertContains(response, f'href="{CASES}?view=team&amp;assignee={asha.pk}">Asha Patel</a>')
    assert response.context["escalated"] == 1

    client.force_login(UserFactory(roles=["NBO agent"]))
    assert client.get(reverse("exceptions:workload")).status_code == 403


# --- item 10: saved filters per user ----------------------------------------------------------------------


def test_saved_filters_belong_to_their_owner(client, agent):
    ExceptionCaseFactory(kind="DECEASED")
    page = f"{CASES}?kind=DECEASED&view=all"
    response = client.post(reverse("exceptions:save-filter"), {"name": "Deaths", "next": page})
    assertRedirects(response, page, fetch_redirect_response=False)
    saved = SavedFilter.objects.get(user=agent)
    assert saved.query == "kind=DECEASED&view=all"
    assertInHTML(
        '<a href="?kind=DECEASED&amp;view=all" hx-get="?kind=DECEASED&amp;view=all" hx-target="#queue"'
        ' hx-push-url="true">Deaths</a>',
        client.get(CASES).text,
    )
    empty_name = client.post(reverse("exceptions:save-filter"), {"name": " ", "next": page}, follow=True)
    assertContains(empty_name, "Enter a name for these filters")

    other = UserFactory(roles=["NBO agent"])
    client.force_login(other)
    assertNotContains(client.get(CASES), "Deaths")
    client.post(reverse("exceptions:delete-filter", args=[saved.pk]), {"next": CASES})
    assert SavedFilter.objects.filter(pk=saved.pk).exists()

    client.force_login(agent)
    client.post(reverse("exceptions:delete-filter", args=[saved.pk]), {"next": CASES})
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()
