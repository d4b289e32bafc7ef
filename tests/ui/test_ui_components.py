"""Each NHS.UK component template renders the design system's markup (style.md point 12)."""

from types import SimpleNamespace

import pytest
from django.core.paginator import Paginator
from django.template.loader import render_to_string
from django.test import RequestFactory
from pytest_django.asserts import assertInHTML


def render(component: str, /, **context) -> str:
    return render_to_string(f"components/{component}.html", context)


def test_tag_default_and_coloured():
    assertInHTML('<strong class="nhsuk-tag">New</strong>', render("tag", text="New"))
    assertInHTML(
        '<strong class="nhsuk-tag nhsuk-tag--red extra">Invalid</strong>',
        render("tag", text="Invalid", colour="red", classes="extra"),
    )


def test_summary_list_with_and_without_actions():
    html = render(
        "summary_list",
        rows=[{"key": "NHS number", "value": "943 476 5919"}, {"key": "Address", "value": "", "href": "/edit"}],
    )
    assertInHTML(
        '<div class="nhsuk-summary-list__row nhsuk-summary-list__row--no-actions">'
        '<dt class="nhsuk-summary-list__key">NHS number</dt>'
        '<dd class="nhsuk-summary-list__value">943 476 5919</dd></div>',
        html,
    )
    assertInHTML(
        '<dd class="nhsuk-summary-list__actions"><a href="/edit">Change'
        '<span class="nhsuk-u-visually-hidden"> address</span></a></dd>',
        html,
    )
    assertInHTML('<dd class="nhsuk-summary-list__value">Not known</dd>', html)


def test_error_summary_links_each_error_and_is_empty_without_errors():
    assert render("error_summary", errors=[]).strip() == ""
    html = render("error_summary", errors=[{"text": "Enter a reason", "href": "#id_reason"}, {"text": "Try again"}])
    assert 'data-module="nhsuk-error-summary"' in html
    assertInHTML('<h2 class="nhsuk-error-summary__heading">There is a problem</h2>', html)
    assertInHTML('<li><a href="#id_reason">Enter a reason</a></li>', html)
    assertInHTML("<li>Try again</li>", html)


def test_notification_banner_important_and_success():
    html = render("notification_banner", text="PDS is unavailable")
    assert 'role="region" aria-labelledby="nhsuk-notification-banner-title"' in html
    assertInHTML(
        '<h2 class="nhsuk-notification-banner__title" id="nhsuk-notification-banner-title">Important</h2>', html
    )
    assertInHTML('<p class="nhsuk-notification-banner__heading">PDS is unavailable</p>', html)

    html = render("notification_banner", text="Case resolved", success=True, id="done")
    assert 'class="nhsuk-notification-banner nhsuk-notification-banner--success"' in html
    assert 'role="alert" aria-labelledby="done"' in html
    assertInHTML('<h2 class="nhsuk-notification-banner__title" id="done">Success</h2>', html)


def test_button_as_button_and_as_link():
    assertInHTML(
        '<button type="submit" class="nhsuk-button" data-module="nhsuk-button" data-prevent-double-click="true">'
        "Save</button>",
        render("button", text="Save", prevent_double_click=True),
    )
    assertInHTML(
        '<button type="submit" class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button"'
        ' name="action" value="assign">Assign to me</button>',
        render("button", text="Assign to me", variant="secondary", name="action", value="assign"),
    )
    assertInHTML(
        '<a href="/next" draggable="false" class="nhsuk-button" data-module="nhsuk-button">Take next</a>',
        render("button", text="Take next", href="/next"),
    )


@pytest.fixture
def page_request():
    return RequestFactory().get("/cases/", {"sort": "kind", "page": "5"})


def test_pagination_is_numbered_elided_and_keeps_the_query_string(page_request):
    page = Paginator(range(500), 25).page(6)
    html = render_to_string("components/pagination.html", {"page": page, "hx_target": "#t"}, request=page_request)
    assert 'class="nhsuk-pagination nhsuk-pagination--numbered"' in html
    assertInHTML(
        '<a class="nhsuk-pagination__link" href="/cases/?sort=kind&amp;page=6" aria-label="Page 6"'
        ' aria-current="page" hx-get="/cases/?sort=kind&amp;page=6" hx-target="#t" hx-push-url="true">6</a>',
        html,
    )
    # 1 … 4 5 6 7 8 … 20
    numbers = [n for n in range(1, 21) if f'aria-label="Page {n}"' in html]
    assert numbers == [1, 4, 5, 6, 7, 8, 20]
    assert html.count("nhsuk-pagination__item--ellipsis") == 2
    assert 'href="/cases/?sort=kind&amp;page=5" class="nhsuk-pagination__previous" rel="prev"' in html
    assert 'href="/cases/?sort=kind&amp;page=7" class="nhsuk-pagination__next" rel="next"' in html


def test_pagination_without_htmx_target_has_plain_links_and_one_page_has_none(page_request):
    html = render_to_string(
        "components/pagination.html", {"page": Paginator(range(30), 25).page(1)}, request=page_request
    )
    assert "hx-get" not in html
    assert 'rel="next"' in html
    html = render_to_string(
        "components/pagination.html", {"page": Paginator(range(3), 25).page(1)}, request=page_request
    )
    assert html.strip() == ""


def test_header_for_anonymous_has_no_account_or_navigation():
    request = RequestFactory().get("/accounts/login/")
    request.user = SimpleNamespace(is_authenticated=False)
    html = render_to_string("components/header.html", {"user": request.user}, request=request)
    assert "PCRM — Primary Care Registration Management" in html
    assert "Sign out" not in html
    assert "nhsuk-header__navigation" not in html


def test_the_500_page_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Sorry, there is a problem with the service" in html
    assert "Sign out" not in html
