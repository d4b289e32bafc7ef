"""Presenters and template filters: the display decisions templates rely on."""

from types import SimpleNamespace

import pytest
from django import forms
from django.template import Context, Template
from django_tables2.utils import AttributeDict
from factories import UserFactory
from support import ADMINISTRATOR_MENU

from core import presenters as shared
from core.presenters import TAG_COLOURS, Tag
from core.templatetags import pcrm
from exceptions import presenters
from exceptions.models import CaseStatus
from registrations.models import InterchangeStatus
from registrations.ports import CaseKind
from registrations.presenters import INTERCHANGE_STATUS_COLOURS, interchange_status_tag


@pytest.mark.parametrize("kind", list(CaseKind))
def test_every_case_kind_has_a_label_and_a_colour(kind):
    tag = presenters.kind_tag(kind.value)
    assert tag.text and tag.text != kind.value
    assert tag.colour in TAG_COLOURS
    assert kind in presenters.KIND_COLOURS


def test_kind_label_filter_uses_the_catalogue_and_survives_unknown_codes():
    assert Template("{% load cases %}{{ k|kind_label }}").render(Context({"k": "NO_TRACE"})) == "No trace"
    assert presenters.kind_label("RETIRED_KIND") == "RETIRED_KIND"
    assert presenters.kind_tag("RETIRED_KIND") == Tag("RETIRED_KIND", "grey")


def test_every_interchange_status_has_a_colour():
    assert set(INTERCHANGE_STATUS_COLOURS) == set(InterchangeStatus)
    assert interchange_status_tag("INVALID") == Tag("Invalid", "red")
    assert interchange_status_tag("BUILT") == Tag("Built, not yet sent", "yellow")
    assert interchange_status_tag("ACKNOWLEDGED").colour == "green"
    assert interchange_status_tag("SOMETHING_NEW") == Tag("SOMETHING_NEW", "grey")


def test_every_case_status_has_a_colour():
    assert set(presenters.CASE_STATUS_COLOURS) == set(CaseStatus)
    assert presenters.case_status_tag("RESOLVED") == Tag("Resolved", "green")


def test_a_tag_refuses_a_colour_the_design_system_lacks():
    with pytest.raises(ValueError, match="not an NHS.UK tag colour"):
        Tag("x", "magenta")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("9434765919", "943 476 5919"), ("", ""), (None, ""), ("A123456", "A123456"), ("943476591", "943476591")],
)
def test_nhs_number_filter_is_3_3_4(raw, shown):
    assert Template("{% load pcrm %}{{ n|nhs_number }}").render(Context({"n": raw})) == shown


@pytest.mark.django_db
def test_navigation_follows_permissions_and_marks_the_current_area():
    agent = UserFactory(roles=["NBO agent"])
    items = shared.primary_navigation(agent, "registrations")
    assert [(i.text, i.current) for i in items] == [
        ("Work queue", False),
        ("Dashboard", False),
        ("Find a patient", False),
        ("Interchanges", True),
    ]
    assert [i.text for i in shared.primary_navigation(agent, "pds") if i.current] == ["Find a patient"]
    # Within the exceptions app the dashboard has its own link; a case page belongs to the work queue.
    items = shared.primary_navigation(agent, "exceptions", "dashboard")
    assert [i.text for i in items if i.current] == ["Dashboard"]
    items = shared.primary_navigation(agent, "exceptions", "case-detail")
    assert [i.text for i in items if i.current] == ["Work queue"]

    leader = UserFactory(roles=["Team leader"])
    items = shared.primary_navigation(leader, "exceptions", "audit")
    assert [(i.text, i.current) for i in items] == [
        ("Team overview", False),
        ("Work queue", False),
        ("Dashboard", False),
        ("Find a patient", False),
        ("Interchanges", False),
        ("Audit", True),
        ("Migration", False),
    ]
    # Work per person belongs to the team overview.
    assert [i.text for i in shared.primary_navigation(leader, "exceptions", "workload") if i.current] == [
        "Team overview"
    ]

    admin = UserFactory(roles=["Administrator"], is_staff=True)
    assert [i.text for i in shared.primary_navigation(admin, None)] == ADMINISTRATOR_MENU

    pcse = UserFactory(roles=["PCSE viewer"])
    assert [(i.text, i.current) for i in shared.primary_navigation(pcse, "registrations:capitation")] == [
        ("Capitation", True)
    ]
    assert shared.primary_navigation(SimpleNamespace(is_authenticated=False), None) == []


def test_message_banner_levels():
    assert shared.message_banner("success") == shared.Banner("Success", success=True)
    assert shared.message_banner("success").role == "alert"
    assert shared.message_banner("error").title == "Important"
    assert shared.message_banner("info").role == "region"


def test_with_class_keeps_the_columns_own_classes_and_drops_nested_attrs():
    attrs = AttributeDict({"class": "orderable asc", "data-x": "1", "td": {"class": "ignored"}, "hidden": None})
    assert pcrm.with_class(attrs, "nhsuk-table__header") == 'class="nhsuk-table__header orderable asc" data-x="1"'
    assert pcrm.with_class({}, "nhsuk-table__cell") == 'class="nhsuk-table__cell"'
    assert pcrm.with_class(None, "a") == 'class="a"'


class _Form(forms.Form):
    reason = forms.CharField()
    note = forms.CharField()

    def clean(self):
        raise forms.ValidationError("Something is wrong overall")


def test_form_error_list_puts_form_errors_first_and_links_fields():
    form = _Form(data={"note": "x"})
    assert pcrm.form_error_list(form) == [
        {"text": "Something is wrong overall", "href": ""},
        {"text": "This field is required.", "href": "#id_reason"},
    ]
    assert pcrm.form_error_list(_Form()) == []
    assert pcrm.form_error_list(None) == []
