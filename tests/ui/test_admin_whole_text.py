"""#16 item 6 (ADR 0020) in the Django admin: no text box cuts text off. Every registered admin, ours and
third parties', renders its forms without `maxlength`; too long is an error naming the field, the text
kept whole in the box, and the limit is said in the help text."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse
from factories import HealthAuthorityFactory, UserFactory
from pytest_django.asserts import assertContains

from accounts.models import NationalRoleMapping

pytestmark = pytest.mark.django_db

MAXLENGTH = re.compile(r"\smaxlength=")


@pytest.fixture
def superuser(client):
    user = UserFactory(username="root.admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model_admin", list(admin.site._registry.values()), ids=lambda a: a.model._meta.label_lower)
def test_no_registered_admin_puts_maxlength_on_a_box(client, superuser, model_admin):
    opts = model_admin.model._meta
    request = RequestFactory().get("/")
    request.user = superuser
    if model_admin.has_add_permission(request):
        # The whole add page: the model's form and every inline's rows, the blank template row included.
        page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert page.status_code == 200
        html = page.text
    else:
        # Read-only admins have no add page; the form they would build is still checked.
        html = str(model_admin.get_form(request)())
    assert not MAXLENGTH.search(html), f"{opts.label}: {MAXLENGTH.search(html)}"


def test_too_long_text_is_an_error_naming_the_field_and_is_kept_whole(client, superuser):
    role = Group.objects.get_or_create(name="NBO agent")[0]
    words = ("Registration management activity for the national back office, " * 4).strip()  # 259 characters
    url = reverse("admin:accounts_nationalrolemapping_add")
    before = NationalRoleMapping.objects.count()  # the migrations seed the standard codes
    form = client.get(url)
    assertContains(form, "Up to 200 characters.")  # the limit, said where the browser no longer enforces it

    response = client.post(url, {"code": "B0825", "description": words, "pcrm_role": role.pk, "active": "on"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["description"] == ["Description must be 200 characters or fewer"]
    assertContains(response, f'value="{words}"')
    assert NationalRoleMapping.objects.count() == before


def test_the_sequence_numbers_page_takes_a_long_reason_whole(client, superuser):
    ha = HealthAuthorityFactory(cipher="XX1")
    url = reverse("admin:registrations_healthauthority_counters", args=[ha.pk])
    assert not MAXLENGTH.search(client.get(url).text)
    reason = "Seeded from the live NHAIS value at migration. " * 11  # 528 characters
    response = client.post(url, {"last_tn_sent": "5", "reason": reason, "confirm": "on"})
    assert response.context["form"].errors["reason"] == ["Enter a reason of 500 characters or fewer"]
    assertContains(response, reason.strip())


def test_the_limit_is_not_said_twice_where_the_help_already_says_it(client, superuser):
    page = client.get(reverse("admin:auth_user_add")).text
    assert "150 characters or fewer" in page and "Up to 150 characters." not in page
