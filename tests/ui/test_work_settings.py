"""#16 item 9 (ux-home): "Your settings", a person's working preferences: the next case after resolving and
the view the work queue opens on; linked from the header for people who work the queue."""

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from exceptions.models import WorkPreference
from exceptions.services import preferences

pytestmark = pytest.mark.django_db

SETTINGS = reverse("exceptions:settings")
CASES = reverse("exceptions:case-list")


def test_the_header_links_your_settings_for_people_who_work_the_queue(client, agent):
    page = client.get(CASES)
    assertInHTML(f'<a class="nhsuk-header__account-link" href="{SETTINGS}">Your settings</a>', page.text)
    here = client.get(SETTINGS)
    assertInHTML(
        f'<a class="nhsuk-header__account-link" href="{SETTINGS}" aria-current="page">Your settings</a>', here.text
    )
    # The page belongs to the account area: no menu item is marked as the current one.
    assertNotContains(here, "nhsuk-header__navigation-item--current")

    client.force_login(UserFactory(roles=["PCSE viewer"]))
    assertNotContains(client.get(reverse("registrations:capitation:quarter-list")), "Your settings")
    assert client.get(SETTINGS).status_code == 403


def test_settings_show_the_defaults_before_anything_is_chosen(client, agent):
    response = client.get(SETTINGS)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"next_case": "stay", "default_view": "unassigned"}
    # An agent chooses among their own views: no Escalated view, which is a team leader's.
    assert [value for value, _ in form.fields["default_view"].choices] == ["mine", "unassigned", "team", "all"]


def test_saving_settings_changes_the_queues_first_view_and_the_next_case(client, agent):
    mine = ExceptionCaseFactory(assigned_to=agent, status="IN_PROGRESS")
    ExceptionCaseFactory()

    response = client.post(SETTINGS, {"next_case": "next", "default_view": "mine"})

    assertRedirects(response, SETTINGS, fetch_redirect_response=False)
    assertContains(client.get(SETTINGS), "Your settings are saved.")
    saved = WorkPreference.objects.get(user=agent)
    assert (saved.next_case_after_resolving, saved.default_queue_view) == (True, "mine")
    assert preferences.next_after_resolving(agent)
    # The Work queue link (no view in its URL) now opens on My work; any view can still be asked for.
    queue = client.get(CASES)
    assert queue.context["view"] == "mine"
    assert [row.pk for row in queue.context["table"].queue_rows] == [mine.pk]
    assert client.get(CASES, {"view": "unassigned"}).context["view"] == "unassigned"


def test_a_choice_must_be_made_and_must_be_one_of_the_persons_views(client, agent):
    response = client.post(SETTINGS, {"next_case": "next", "default_view": "escalated"})
    assert response.status_code == 400
    assertContains(response, "<title>Error: Your settings", status_code=400)
    response = client.post(SETTINGS, {})
    assertContains(response, "Choose what happens after you resolve a case", status_code=400)
    assertContains(response, "Choose which view the work queue opens on", status_code=400)
    assert not WorkPreference.objects.filter(user=agent).exists()


def test_a_view_the_role_no_longer_has_falls_back_to_the_default(client):
    leader = UserFactory(roles=["Team leader"])
    client.force_login(leader)
    client.post(SETTINGS, {"next_case": "stay", "default_view": "escalated"})
    assert preferences.default_queue_view(leader) == "escalated"
    leader.groups.clear()
    leader.groups.add(*UserFactory(roles=["NBO agent"]).groups.all())
    fresh = type(leader).objects.get(pk=leader.pk)  # permissions are cached on the user object
    assert preferences.default_queue_view(fresh) == "unassigned"
