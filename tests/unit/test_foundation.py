"""Settings, reference data, roles, working days and admin: the ground everything else stands on."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from factories import GPFactory, LinkFactory, PracticeFactory, UserFactory

from core import roles
from core.nhs_number import check_digit, format_nhs_number, from_serial, is_valid
from exceptions.sla import working_days_since
from exceptions.sla.working_days import add_working_days
from registrations.models import HealthAuthority

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_production_mode_passes_check_deploy_when_given_its_variables():
    # The test process allows async-unsafe ORM calls for Playwright; a deployment never would.
    clean = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **clean,
        "DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 64 + "-not-the-dev-key-" + "y" * 20,
        "ALLOWED_HOSTS": "pcrm.example.nhs.uk",
        # Staff sign in through CIS2 (passwords are off in production): a deployment names its environment.
        "CIS2_ISSUER": "https://cis2.example.nhs.uk/openam/oauth2/realms/root/realms/oidc",
        "CIS2_CLIENT_ID": "pcrm.apps.national",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    run = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO, env={**env, "DEBUG": "0"}, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "DJANGO_SECRET_KEY" in run.stderr


@pytest.mark.django_db
def test_all_health_authorities_are_reference_data():
    assert HealthAuthority.objects.count() == 90  # the shared list: 89 ciphers of Appendix D, plus XX1 test
    kent = HealthAuthority.objects.get(cipher="KC")
    assert (kent.link_code, kent.nation, kent.migrated) == ("KC01", "England", False)
    assert HealthAuthority.objects.get(cipher="BAA").link_code == "BAA1"
    assert set(HealthAuthority.objects.values_list("nation", flat=True)) >= {"England", "Wales", "Isle of Man"}


@pytest.mark.django_db
def test_roles_carry_permissions_named_for_activities():
    agent = UserFactory(roles=[roles.AGENT])
    leader = UserFactory(roles=[roles.TEAM_LEADER])
    pcse = UserFactory(roles=[roles.PCSE_VIEWER])
    assert agent.has_perm("exceptions.resolve_case") and not agent.has_perm("exceptions.assign_case")
    assert leader.has_perm("exceptions.assign_case") and leader.has_perm("exceptions.approve_merge")
    assert pcse.has_perm("registrations.view_capitation") and not pcse.has_perm("exceptions.view_queue")


def test_nhs_number_arithmetic():
    assert is_valid("9434765919")
    assert not is_valid("9434765918")
    assert not is_valid("1234567890")  # remainder 10: no valid check digit exists
    assert check_digit("123456789") is None
    assert all(is_valid(from_serial(n)) for n in range(0, 5000, 37))
    assert format_nhs_number("9434765919") == "943 476 5919"


def test_working_days_skip_weekends_and_bank_holidays():
    # Wednesday 24 Dec 2025 + 3 working days: Christmas, Boxing Day and the weekend do not count.
    assert add_working_days(dt.date(2025, 12, 24), 3) == dt.date(2025, 12, 31)
    assert working_days_since(dt.date(2025, 12, 24), dt.date(2025, 12, 31)) == 3


@pytest.mark.django_db
def test_admin_manages_reference_data(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    gp = GPFactory()
    LinkFactory(practice=gp.practice)
    for url in (
        "/admin/registrations/healthauthority/?q=KC",
        "/admin/registrations/practice/",
        f"/admin/registrations/practice/{gp.practice.pk}/change/",
        "/admin/registrations/gp/?q=48",
        "/admin/registrations/link/",
        "/admin/registrations/interchange/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get(f"/admin/registrations/practice/{gp.practice.pk}/change/").content.decode()
    assert gp.national_code in page, "GPs are edited inline on their practice"


@pytest.mark.django_db
def test_every_factory_builds_a_valid_row():
    import factories

    for name in dir(factories):
        factory = getattr(factories, name)
        if name.endswith("Factory") and hasattr(factory, "_meta") and getattr(factory._meta, "model", None):
            obj = factory()
            obj.full_clean(exclude=["password", "raw"])
    assert PracticeFactory().mesh_mailbox.startswith("GPMB")


@pytest.mark.django_db
def test_each_role_lands_where_its_work_is(client):
    client.force_login(UserFactory(roles=[roles.PCSE_VIEWER]))
    assert client.get("/")["Location"] == "/registrations/capitation/"
    client.force_login(UserFactory(roles=[roles.AGENT]))
    assert client.get("/")["Location"] == "/cases/"
