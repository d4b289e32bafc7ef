"""Django admin signs people in through PCRM's sign-in page only: its own password form would bypass
PCRM_PASSWORD_SIGN_IN (CIS2 only, or break-glass accounts only) and the sign-in audit."""

import pytest
from django.test import Client
from support import PASSWORD, role_user

from core import roles

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_admins_own_sign_in_form_is_never_offered_nor_accepted(settings, method):
    settings.PASSWORD_SIGN_IN = "off"
    role_user(roles.ADMINISTRATOR, username="ada")
    client = Client()
    form = {"username": "ada", "password": PASSWORD} if method == "post" else None
    response = getattr(client, method)("/admin/login/?next=/admin/registrations/", form)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fregistrations%2F"
    assert client.get("/admin/").status_code == 302, "nobody was signed in"


def test_the_admin_sends_people_to_pcrm_sign_in_and_back(settings):
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"


def test_an_outside_next_is_not_followed():
    response = Client().get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2F"
