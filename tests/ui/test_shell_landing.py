"""#16 items 1, 15 (?next= after a failed sign-in) and 16 (error pages), through Django's client."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import reverse
from factories import UserFactory
from pytest_django.asserts import assertContains, assertRedirects
from support import ADMINISTRATOR_MENU, post_sign_in

from core.errors import FriendlyErrorPagesMiddleware
from core.presenters import primary_navigation

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
QUEUE = reverse("exceptions:case-list")
CAPITATION = reverse("registrations:capitation:quarter-list")
TEAM = reverse("exceptions:team")


@pytest.mark.parametrize(
    ("role", "lands_on", "menu"),
    [
        ("NBO agent", QUEUE, ["Work queue", "Dashboard", "Find a patient", "Interchanges"]),
        (
            "Team leader",
            TEAM,
            ["Team overview", "Work queue", "Dashboard", "Find a patient", "Interchanges", "Audit", "Migration"],
        ),
        ("PCSE viewer", CAPITATION, ["Capitation"]),
        (
            "Administrator",
            QUEUE,
            ADMINISTRATOR_MENU,
        ),
    ],
)
def test_every_role_signs_in_to_its_own_home_and_menu(client, role, lands_on, menu):
    user = UserFactory(username="someone", roles=[role], is_staff=role == "Administrator")
    response = post_sign_in(client, "someone")
    assertRedirects(response, reverse("exceptions:home"), fetch_redirect_response=False)
    home = client.get(reverse("exceptions:home"))
    assertRedirects(home, lands_on, fetch_redirect_response=False)
    page = client.get(lands_on)
    assert page.status_code == 200
    assert [item.text for item in primary_navigation(user, None)] == menu


def test_a_pcse_viewer_never_meets_a_403_on_the_way_in(client):
    UserFactory(username="pat.pcse", roles=["PCSE viewer"])
    response = post_sign_in(client, "pat.pcse")
    final = client.get(response.url, follow=True)
    assert final.status_code == 200
    assert final.redirect_chain[-1][0] == CAPITATION


def test_a_role_with_no_area_is_told_so_not_refused(client):
    client.force_login(UserFactory(roles=[]))
    response = client.get(reverse("exceptions:home"))
    assertContains(response, "Your role has no PCRM pages", status_code=200)


def test_a_staff_account_without_casework_lands_in_admin(client):
    client.force_login(UserFactory(roles=[], is_staff=True))
    assertRedirects(client.get(reverse("exceptions:home")), reverse("admin:index"), fetch_redirect_response=False)


def test_a_failed_sign_in_keeps_where_the_person_was_going(client):
    UserFactory(username="asha.patel", roles=["NBO agent"])
    failed = client.post(f"{LOGIN}?next=/cases/?view=mine", {"username": "asha.patel", "password": "wrong"})
    assert failed.status_code == 200
    assertContains(failed, 'action="/accounts/login/?next=/cases/%3Fview%3Dmine"')
    assertContains(failed, "<title>Error: Sign in")
    again = post_sign_in(client, "asha.patel", next_url="/cases/?view=mine")
    assertRedirects(again, "/cases/?view=mine", fetch_redirect_response=False)


# --- error pages with DEBUG on (the demo) ---------------------------------------------------------------


def test_a_missing_page_is_the_nhs_page_with_debug_on(client, settings):
    settings.DEBUG = True
    client.force_login(UserFactory(roles=["NBO agent"]))
    response = client.get("/no-such-page/")
    assertContains(response, "Page not found", status_code=404)
    assert b"Using the URLconf" not in response.content
    response = client.get(reverse("exceptions:case-detail", args=[987654]))
    assertContains(response, "Page not found", status_code=404)


def test_a_developer_can_ask_for_djangos_pages(client, settings):
    settings.DEBUG = True
    settings.PCRM_DJANGO_ERROR_PAGES = True
    client.force_login(UserFactory(roles=["NBO agent"]))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Using the URLconf" in response.content


def test_a_crash_and_a_bad_request_are_the_nhs_pages_with_debug_on(settings):
    from django.core.exceptions import SuspiciousOperation

    settings.DEBUG = True
    request = RequestFactory().get("/cases/")
    request.user = AnonymousUser()
    middleware = FriendlyErrorPagesMiddleware(lambda r: None)
    crashed = middleware.process_exception(request, RuntimeError("boom"))
    assert crashed.status_code == 500
    assert b"Sorry, there is a problem with the service" in crashed.content
    refused = middleware.process_exception(request, SuspiciousOperation("odd"))
    assert refused.status_code == 400
    settings.DEBUG = False
    assert middleware.process_exception(request, RuntimeError("boom")) is None


def test_a_failed_security_check_is_the_nhs_page_with_debug_on_too(settings):
    from django.test import Client

    settings.DEBUG = True
    user = UserFactory(roles=["NBO agent"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("exceptions:take-next"))
    assertContains(response, "Your form could not be sent", status_code=403)
    assert b"CSRF verification failed" not in response.content
