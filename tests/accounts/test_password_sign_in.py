"""Local passwords: on for the demo and development, off in production unless break-glass, and audited."""

import datetime as dt

import pytest
from django.utils import timezone
from factories import UserFactory

from accounts.models import BreakGlassAccount
from exceptions.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/factories.py


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def test_in_development_any_local_account_signs_in_and_is_audited(client, settings):
    settings.PASSWORD_SIGN_IN = "all"
    UserFactory(username="asha", roles=["NBO agent"])
    assert sign_in(client, "asha").status_code == 302
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.role, event.role_profile, event.detail["method"]) == ("NBO agent", "", "password")
    assert client.get("/cases/").status_code == 200


def test_production_defaults_to_no_password_sign_in(settings):
    import importlib
    import os

    from pcrm_site import settings as site_settings

    saved = dict(os.environ)
    os.environ.update({"DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 60})
    os.environ.pop("PCRM_PASSWORD_SIGN_IN", None)
    try:
        production = importlib.reload(site_settings)
        assert production.PASSWORD_SIGN_IN == "off"
        assert production.CIS2_ISSUER == ""  # production must name its CIS2 environment
    finally:
        os.environ.clear()
        os.environ.update(saved)
        importlib.reload(site_settings)


def test_with_passwords_off_the_form_is_not_offered_and_a_post_is_refused(client, settings):
    settings.PASSWORD_SIGN_IN = "off"
    UserFactory(username="asha", roles=["NBO agent"])
    page = client.get("/accounts/login/")
    assert b'type="password"' not in page.content
    assert b"Sign in with" in page.content  # CIS2 is offered
    response = sign_in(client, "asha")
    assert response.status_code == 200
    assert b"Password sign-in is not available here" in response.content
    assert not AuditEvent.objects.filter(action="sign_in").exists()


def test_break_glass_only_lets_break_glass_accounts_in_and_audits_them(client, settings):
    settings.PASSWORD_SIGN_IN = "break-glass"
    UserFactory(username="asha", roles=["NBO agent"])
    admin = UserFactory(username="glass", roles=["Administrator"])
    BreakGlassAccount.objects.create(user=admin, reason="CIS2 outage cover, approved by the SIRO")

    refused = sign_in(client, "asha")
    assert b"cannot sign in with a password" in refused.content

    assert sign_in(client, "glass").status_code == 302
    event = AuditEvent.objects.get(action="break_glass_sign_in")
    assert event.role == "Administrator (break-glass)"
    page = client.get("/cases/")
    assert b"Break-glass account" in page.content
    # Everything done in the session says it was done under break-glass.
    client.get("/cases/?q=9434765919")
    assert AuditEvent.objects.get(action="search_queue").role == "Administrator (break-glass)"


def test_an_expired_break_glass_account_is_refused(client, settings):
    settings.PASSWORD_SIGN_IN = "break-glass"
    admin = UserFactory(username="glass", roles=["Administrator"])
    BreakGlassAccount.objects.create(user=admin, reason="x", expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert b"cannot sign in with a password" in sign_in(client, "glass").content


def test_deploy_checks_warn_about_passwords_for_everyone(settings):
    from accounts.checks import production_sign_in

    settings.PASSWORD_SIGN_IN = "all"
    assert [w.id for w in production_sign_in(None)] == ["accounts.W001"]
    settings.PASSWORD_SIGN_IN = "off"
    settings.CIS2_ISSUER = ""
    assert [w.id for w in production_sign_in(None)] == ["accounts.W002"]
