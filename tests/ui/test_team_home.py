"""#16 items 1 and 8 (ux-home): a team leader's home, the team overview, read through its selector and the client."""

import datetime as dt

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertRedirects
from support import role_user

from exceptions.models import ExceptionCase
from exceptions.selectors import team

pytestmark = pytest.mark.django_db

TEAM = reverse("exceptions:team")
CASES = reverse("exceptions:case-list")


def opened(case, at):
    ExceptionCase.objects.filter(pk=case.pk).update(opened_at=at)
    return case


@pytest.fixture
def day(now):
    """A small team's day: two agents, escalations, a late case, a near one, unassigned ones of three ages."""
    asha = role_user("NBO agent", username="asha", first_name="Asha", last_name="Patel")
    role_user("NBO agent", username="ben", first_name="Ben", last_name="Idle")
    late = ExceptionCaseFactory(assigned_to=asha, status="IN_PROGRESS", due_at=now - dt.timedelta(hours=5))
    later = ExceptionCaseFactory(assigned_to=asha, status="IN_PROGRESS", due_at=now - dt.timedelta(hours=1))
    near = ExceptionCaseFactory(assigned_to=asha, status="IN_PROGRESS", due_at=now + dt.timedelta(minutes=30))
    escalated_new = opened(ExceptionCaseFactory(status="IN_PROGRESS"), now - dt.timedelta(days=1))
    escalated_old = opened(ExceptionCaseFactory(status="IN_PROGRESS"), now - dt.timedelta(days=4))
    oldest = opened(ExceptionCaseFactory(due_at=now + dt.timedelta(days=9)), now - dt.timedelta(days=9))
    newest = opened(ExceptionCaseFactory(due_at=now + dt.timedelta(days=9)), now - dt.timedelta(hours=1))
    ExceptionCaseFactory(assigned_to=asha, resolved=True, due_at=now - dt.timedelta(days=2))  # closed: not counted
    return {
        "asha": asha,
        "late": late,
        "later": later,
        "near": near,
        "escalated": [escalated_old, escalated_new],
        "oldest": oldest,
        "newest": newest,
    }


def test_the_overview_counts_the_teams_open_work(day, now):
    overview = team.overview(now)

    assert (overview.escalated, overview.unassigned, overview.open) == (2, 4, 7)
    assert (overview.overdue, overview.due_soon) == (2, 1)
    # The short lists: escalations longest waiting first, the most overdue first, unassigned oldest first.
    assert [c.pk for c in overview.escalated_oldest] == [c.pk for c in day["escalated"]]
    assert [c.pk for c in overview.overdue_worst] == [day["late"].pk, day["later"].pk]
    assert [c.pk for c in overview.unassigned_oldest][:1] == [day["oldest"].pk]
    assert [c.pk for c in overview.unassigned_oldest][-1] == day["newest"].pk
    # Everyone who can work cases is listed, those holding nothing too.
    load = {p.name: (p.held, p.overdue, p.due_soon) for p in overview.people}
    assert load["Asha Patel"] == (3, 2, 1)
    assert load["Ben Idle"] == (0, 0, 0)
    assert overview.holding_nothing == 1


def test_short_lists_stop_at_five_and_link_to_the_rest(client, leader, now):
    for i in range(7):
        opened(ExceptionCaseFactory(), now - dt.timedelta(days=i + 1))
    response = client.get(TEAM)
    assert len(response.context["overview"].unassigned_oldest) == team.SHORT_LIST
    more = f'href="{CASES}?view=unassigned&amp;sort=opened_at">All unassigned cases, oldest first (7)'
    assertContains(response, more)


def test_a_team_leader_lands_on_the_overview_and_it_links_into_the_queue(client, leader, day):
    assertRedirects(client.get(reverse("exceptions:home")), TEAM, fetch_redirect_response=False)
    response = client.get(TEAM)
    assert response.status_code == 200
    assertContains(response, "<title>Team overview – PCRM")
    assertInHTML(
        f'<a class="nhsuk-header__navigation-link" href="{TEAM}" aria-current="page">'
        '<strong class="nhsuk-header__navigation-item-current-fallback">Team overview</strong></a>',
        response.text,
    )
    # Each figure opens the queue view that lists those cases.
    assertContains(response, f'href="{CASES}?view=escalated" id="figure-escalated"')
    assertContains(response, f'href="{CASES}?view=all&amp;sla=overdue" id="figure-overdue"')
    assertContains(response, f'href="{CASES}?view=all&amp;sla=due_soon" id="figure-due-soon"')
    # A case in a short list opens the case; its NHS number opens the patient (audited there).
    late = day["late"]
    assertContains(response, f'<a class="nhsuk-link" href="/cases/{late.pk}/">Case {late.pk}</a>', html=True)
    assertContains(response, f'href="/pds/patients/{late.nhs_number}/"')
    # Work per person, each name a link to what they hold.
    assertContains(response, f'href="{CASES}?view=team&amp;assignee={day["asha"].pk}">Asha Patel</a>')


def test_the_overview_says_so_when_the_team_is_clear(client, leader):
    response = client.get(TEAM)
    assertContains(response, "Nothing is escalated.")
    assertContains(response, "No case is past its SLA.")
    assertContains(response, "Every open case has someone on it.")


@pytest.mark.parametrize(("role", "lands_on"), [("NBO agent", CASES), ("Administrator", CASES)])
def test_agents_and_administrators_keep_the_queue_as_their_home(client, role, lands_on):
    client.force_login(role_user(role))
    assertRedirects(client.get(reverse("exceptions:home")), lands_on, fetch_redirect_response=False)


@pytest.mark.parametrize("role", ["NBO agent", "PCSE viewer"])
def test_roles_that_do_not_lead_a_team_are_refused_the_overview(client, role):
    client.force_login(UserFactory(roles=[role]))
    response = client.get(TEAM)
    assert response.status_code == 403
