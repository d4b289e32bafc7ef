"""Local passwords: on for the demo and development, off in production unless break-glass, and audited."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from cis2_local import write_client_key
from django.utils import timezone
from factories import UserFactory
from support import REPO, post_sign_in

from accounts.models import BreakGlassAccount
from exceptions.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_in_development_any_local_account_signs_in_and_is_audited(client, settings):
    settings.PASSWORD_SIGN_IN = "all"
    UserFactory(username="asha", roles=["NBO agent"])
    assert post_sign_in(client, "asha").status_code == 302
    event = AuditEvent.objects.get(action="sign_in")
    assert (event.role, event.role_profile, event.detail["method"]) == ("NBO agent", "", "password")
    assert client.get("/cases/").status_code == 200


def test_production_defaults_to_no_password_sign_in():
    env = {k: v for k, v in os.environ.items() if k not in ("PCRM_PASSWORD_SIGN_IN", "CIS2_ISSUER")}
    env.update({"DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 64 + "-not-the-dev-key"})
    read = "from django.conf import settings; print(settings.PASSWORD_SIGN_IN, repr(settings.CIS2_ISSUER))"
    run = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", read], cwd=REPO, env=env, capture_output=True, text=True
    )
    # Passwords off, and no CIS2 environment assumed: production must name its own.
    assert run.stdout.strip().splitlines()[-1].split() == ["off", "''"], run.stdout + run.stderr


def test_with_passwords_off_the_form_is_not_offered_and_a_post_is_refused(client, settings):
    settings.PASSWORD_SIGN_IN = "off"
    UserFactory(username="asha", roles=["NBO agent"])
    page = client.get("/accounts/login/")
    assert b'type="password"' not in page.content
    assert b"Sign in with" in page.content  # CIS2 is offered
    response = post_sign_in(client, "asha")
    assert response.status_code == 200
    assert b"Password sign-in is not available here" in response.content
    assert not AuditEvent.objects.filter(action="sign_in").exists()


def test_break_glass_only_lets_break_glass_accounts_in_and_audits_them(client, settings):
    settings.PASSWORD_SIGN_IN = "break-glass"
    UserFactory(username="asha", roles=["NBO agent"])
    admin = UserFactory(username="glass", roles=["Administrator"])
    BreakGlassAccount.objects.create(user=admin, reason="CIS2 outage cover, approved by the SIRO")

    refused = post_sign_in(client, "asha")
    assert b"cannot sign in with a password" in refused.content

    assert post_sign_in(client, "glass").status_code == 302
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
    assert b"cannot sign in with a password" in post_sign_in(client, "glass").content


def test_deploy_checks_warn_about_passwords_for_everyone(settings):
    from accounts.checks import production_sign_in

    settings.PASSWORD_SIGN_IN = "all"
    assert [w.id for w in production_sign_in(None)] == ["accounts.W001"]
    settings.PASSWORD_SIGN_IN = "off"
    settings.CIS2_ISSUER = ""
    assert [w.id for w in production_sign_in(None)] == ["accounts.W002"]


def test_cis2_sign_in_is_not_offered_when_no_environment_is_configured(client, settings):
    settings.CIS2_ISSUER = ""
    assert b"/accounts/cis2/start/" not in client.get("/accounts/login/").content
    assert client.get("/accounts/cis2/start/").status_code == 404


def test_an_unreachable_cis2_gets_a_page_not_an_error(client, settings, tmp_path):
    settings.CIS2_ISSUER = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.CIS2_CLIENT_KEY_FILE = str(write_client_key(tmp_path / "key.pem"))
    response = client.get("/accounts/cis2/start/")
    assert response.status_code == 502
    assert b"CIS2 could not be reached" in response.content
