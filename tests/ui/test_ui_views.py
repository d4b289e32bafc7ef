"""The back-office pages through Django's test client: access rules, first render, htmx partials, sign in/out."""

import pytest
from django.urls import reverse
from factories import InterchangeFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from registrations.models import InterchangeStatus

pytestmark = pytest.mark.django_db

CASES = reverse("exceptions:case-list")
INTERCHANGES = reverse("registrations:interchange-list")
LOGIN = reverse("login")
PASSWORD = "correct-horse-battery"


@pytest.fixture
def htmx_headers():
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver" + CASES}


@pytest.mark.parametrize("url", ["/", CASES, INTERCHANGES])
def test_anonymous_users_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assertRedirects(response, f"{LOGIN}?next={url}", fetch_redirect_response=False)


@pytest.mark.parametrize("url", [CASES, INTERCHANGES])
def test_a_user_without_the_permission_is_refused_with_the_nhs_403_page(client, url):
    client.force_login(UserFactory(roles=[]))
    response = client.get(url)
    assert response.status_code == 403
    assertContains(response, "You do not have access to this page", status_code=403)
    assertContains(response, 'class="nhsuk-header"', status_code=403)
    assertNotContains(response, "nhsuk-table", status_code=403)


def test_a_pcse_viewer_cannot_open_the_work_queue_and_is_not_offered_it(client):
    client.force_login(UserFactory(roles=["PCSE viewer"]))
    response = client.get(CASES)
    assert response.status_code == 403
    assertNotContains(response, ">Work queue<", status_code=403)


def test_the_interchange_list_shows_recent_interchanges_with_status_tags(client, agent, htmx_headers):
    InterchangeFactory(sender="TES5", status=InterchangeStatus.PARSED)
    InterchangeFactory(sender="ACK9", status=InterchangeStatus.ACKNOWLEDGED)

    response = client.get(INTERCHANGES)

    assertContains(response, "<html", count=1)
    assertInHTML('<h1 class="nhsuk-heading-l">Interchanges</h1>', response.text)
    assertContains(response, "<strong>2</strong> interchanges recorded")
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">Parsed</strong>', response.text)
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--green">Acknowledged by RECEP</strong>', response.text)
    assertContains(response, 'hx-target="#interchange-table"')

    partial = client.get(INTERCHANGES, {"sort": "sender"}, **htmx_headers)
    assert "<html" not in partial.text
    assert partial.text.index("ACK9") < partial.text.index("TES5")


def test_navigation_shows_only_what_the_role_allows_and_marks_the_current_page(client, agent):
    response = client.get(INTERCHANGES)
    assertInHTML(
        '<a class="nhsuk-header__navigation-link" href="/registrations/interchanges/" aria-current="page">'
        '<strong class="nhsuk-header__navigation-item-current-fallback">Interchanges</strong></a>',
        response.text,
    )
    assertInHTML('<a class="nhsuk-header__navigation-link" href="/cases/">Work queue</a>', response.text)
    assertNotContains(response, ">Admin<")


def test_staff_are_offered_the_admin(client):
    client.force_login(UserFactory(roles=["Administrator"], is_staff=True))
    response = client.get(CASES)
    assertInHTML('<a class="nhsuk-header__navigation-link" href="/admin/">Admin</a>', response.text)


def test_the_sign_in_page_is_an_nhs_form(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assertInHTML('<h1 class="nhsuk-heading-l">Sign in to PCRM</h1>', response.text)
    assertContains(response, '<label class="nhsuk-label" for="id_username">Username</label>', html=True)
    assertContains(response, 'autocomplete="username"')
    assertContains(response, 'autocomplete="current-password"')
    assertNotContains(response, "nhsuk-error-summary")
    assertNotContains(response, "Sign out")


def test_a_failed_sign_in_shows_the_error_summary(client):
    UserFactory(username="agent2", roles=["NBO agent"])
    response = client.post(LOGIN, {"username": "agent2", "password": "wrong"})
    assert response.status_code == 200
    assertContains(response, "<title>Error: Sign in – PCRM – NHS</title>")
    assertContains(response, 'class="nhsuk-error-summary"')
    assertContains(response, "There is a problem")
    assertContains(response, "Please enter a correct username and password")
    assertContains(response, 'value="agent2"')


def test_a_missing_field_is_linked_from_the_error_summary(client):
    response = client.post(LOGIN, {"username": "someone", "password": ""})
    assertInHTML('<a href="#id_password">This field is required.</a>', response.text)
    assertContains(response, "nhsuk-form-group--error")
    assertContains(response, 'aria-describedby="id_password-error"')


def test_signing_in_goes_to_the_work_queue_and_signing_out_needs_a_post(client):
    UserFactory(username="agent3", roles=["NBO agent"])
    response = client.post(LOGIN, {"username": "agent3", "password": PASSWORD})
    # Home sends each role on to its own landing page (tests/ui/test_shell_landing.py): an agent's is the queue.
    assertRedirects(response, reverse("exceptions:home"), target_status_code=302)
    assertRedirects(client.get(reverse("exceptions:home")), CASES)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assertRedirects(response, LOGIN, fetch_redirect_response=False)
    assert client.get(CASES).status_code == 302


def test_unknown_pages_get_the_nhs_404(client, agent):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assertContains(response, "Page not found", status_code=404)
    assertContains(response, 'class="nhsuk-header"', status_code=404)


def test_messages_are_shown_as_notification_banners(rf, agent):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = agent
    request.session = {}
    storage = FallbackStorage(request)
    storage.add(25, "Case 12 resolved")
    storage.add(20, "PDS is slow today")
    html = render_to_string("components/messages.html", {"messages": storage})
    assert 'class="nhsuk-notification-banner nhsuk-notification-banner--success"' in html
    assert 'role="alert" aria-labelledby="message-1-title"' in html
    assert '<h2 class="nhsuk-notification-banner__title" id="message-2-title">Important</h2>' in html
    assert "Case 12 resolved" in html


def test_the_403_page_offers_the_work_queue_only_to_those_who_can_open_it(client):
    from django.contrib.auth.models import Permission

    queue_only = UserFactory()
    queue_only.user_permissions.add(Permission.objects.get(codename="view_queue"))
    client.force_login(queue_only)
    response = client.get(INTERCHANGES)
    assert response.status_code == 403
    assertInHTML('<a href="/cases/">Go to the work queue</a>', response.text)

    client.force_login(UserFactory(roles=["PCSE viewer"]))
    response = client.get(INTERCHANGES)
    assertNotContains(response, "Go to the work queue", status_code=403)
    assertInHTML('<a href="/registrations/capitation/">Go to capitation</a>', response.text)
