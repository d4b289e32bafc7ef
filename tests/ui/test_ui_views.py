"""The back-office pages through Django's test client: access rules, first render, htmx partials, sign in/out."""

import pytest
from django.urls import reverse
from factories import ExceptionCaseFactory, InterchangeFactory, UserFactory
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from registrations.models import InterchangeStatus

pytestmark = pytest.mark.django_db

CASES = reverse("exceptions:case-list")
INTERCHANGES = reverse("registrations:interchange-list")
LOGIN = reverse("login")
PASSWORD = "correct-horse-battery"


@pytest.fixture
def agent(client):
    user = UserFactory(username="agent1", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    client.force_login(user)
    return user


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


def test_an_agent_sees_the_open_case_with_nhs_number_3_3_4_and_kind_label(client, agent):
    case = ExceptionCaseFactory(kind="NO_TRACE", summary="NHS number not known to PDS", nhs_number="9434765919")
    ExceptionCaseFactory(resolved=True, summary="Already dealt with")

    response = client.get(CASES)

    assert response.status_code == 200
    assertContains(response, "<html", count=1)
    assertInHTML('<h1 class="nhsuk-heading-l">Exception cases</h1>', response.text)
    assertInHTML('<p class="nhsuk-body" id="case-count"><strong>1</strong> open case</p>', response.text)
    assertContains(response, "943 476 5919")
    assertNotContains(response, "9434765919")
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">No trace</strong>', response.text)
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">Open</strong>', response.text)
    assertContains(response, "NHS number not known to PDS")
    assertNotContains(response, "Already dealt with")
    assertContains(response, f'<td class="nhsuk-table__cell">{case.pk}</td>', html=False)
    # The header names the user and offers sign out as a POST form with a CSRF token.
    assertContains(response, "Asha Patel")
    assertInHTML('<button class="nhsuk-header__account-button" type="submit">Sign out</button>', response.text)
    assert 'action="/accounts/logout/" method="post"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text
    # Every htmx request carries the CSRF token.
    assert f'hx-headers=\'{{"X-CSRFToken": "{response.context["csrf_token"]}"}}\'' in response.text


def test_the_first_render_has_sort_links_that_work_with_and_without_javascript(client, agent):
    ExceptionCaseFactory()
    response = client.get(CASES)
    assertInHTML(
        '<th scope="col" class="nhsuk-table__header orderable" data-sort>'
        '<a class="nhsuk-link" id="sort-kind" href="/cases/?sort=kind" hx-get="/cases/?sort=kind"'
        ' hx-target="#case-table" hx-push-url="true">Kind</a></th>',
        response.text,
    )
    # The default order (oldest first) is announced on its column; the link offers the reverse.
    assertInHTML(
        '<th scope="col" class="nhsuk-table__header orderable asc" data-sort aria-sort="ascending">'
        '<a class="nhsuk-link" id="sort-opened_at" href="/cases/?sort=-opened_at" hx-get="/cases/?sort=-opened_at"'
        ' hx-target="#case-table" hx-push-url="true">Received</a></th>',
        response.text,
    )
    # Summary is not sortable: a plain header.
    assertInHTML('<th scope="col" class="nhsuk-table__header">Summary</th>', response.text)


def test_sorting_keeps_other_parameters_and_returns_to_the_first_page(client, agent):
    ExceptionCaseFactory()
    response = client.get(CASES, {"sort": "-opened_at", "page": "1", "kind": "NO_TRACE"})
    assertContains(response, 'aria-sort="descending"')
    assertContains(response, 'href="/cases/?sort=opened_at&amp;kind=NO_TRACE"')


def test_sorting_orders_the_rows(client, agent):
    ExceptionCaseFactory(practice_ods="B00002")
    ExceptionCaseFactory(practice_ods="A00001")
    text = client.get(CASES, {"sort": "practice_ods"}).text
    assert text.index("A00001") < text.index("B00002")
    text = client.get(CASES, {"sort": "-practice_ods"}).text
    assert text.index("B00002") < text.index("A00001")


def test_an_htmx_request_gets_only_the_table_partial(client, agent, htmx_headers):
    ExceptionCaseFactory(nhs_number="9434765919")
    response = client.get(CASES, {"sort": "kind"}, **htmx_headers)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "nhsuk-header" not in response.text
    assert "<h1" not in response.text
    assert 'id="case-table"' not in response.text  # the wrapper stays on the page; only its inside is swapped
    assertContains(response, 'id="case-count"')
    assertContains(response, "943 476 5919")
    assertContains(response, 'aria-sort="ascending"')
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(client, agent, htmx_headers):
    response = client.get(CASES, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **htmx_headers)
    assertContains(response, "<html", count=1)
    assertContains(response, 'id="case-table"')


def test_pagination_uses_the_nhs_component_with_htmx_links_and_keeps_the_sort(client, agent, htmx_headers):
    ExceptionCaseFactory.create_batch(30)
    response = client.get(CASES, {"sort": "id"})
    assertContains(response, 'class="nhsuk-pagination nhsuk-pagination--numbered"')
    assertInHTML(
        '<a class="nhsuk-pagination__link" href="/cases/?sort=id&amp;page=2" aria-label="Page 2"'
        ' hx-get="/cases/?sort=id&amp;page=2" hx-target="#case-table" hx-push-url="true">2</a>',
        response.text,
    )
    assertContains(response, 'rel="next"')
    assertNotContains(response, 'rel="prev"')

    page2 = client.get(CASES, {"sort": "id", "page": "2"}, **htmx_headers)
    assert page2.text.count('<tr class="nhsuk-table__row') == 1 + 5  # header row + the last 5 cases
    assertContains(page2, 'aria-current="page"')
    assertContains(page2, 'rel="prev"')


def test_a_page_number_past_the_end_shows_the_last_page(client, agent):
    ExceptionCaseFactory.create_batch(3)
    response = client.get(CASES, {"page": "99"})
    assert response.status_code == 200
    assert response.text.count('<tr class="nhsuk-table__row') == 1 + 3


def test_an_empty_queue_says_so(client, agent):
    response = client.get(CASES)
    assertContains(response, "No exception cases.")
    assertContains(response, "<strong>0</strong> open cases")


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
    assertRedirects(response, CASES, fetch_redirect_response=False)
    assert client.get(CASES).status_code == 200

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
