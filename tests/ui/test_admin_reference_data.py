"""#16 item 13: the admin refuses bad reference data, keeps cut-over to the migration page, guards the
sequence counters (who and why recorded), and names its list-editable inputs."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from factories import HealthAuthorityFactory, LinkFactory, PracticeFactory, UserFactory
from pytest_django.asserts import assertContains, assertRedirects

from registrations.models import GP, HealthAuthority, Link, Practice

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(sign_in_as):
    return sign_in_as("Administrator", username="ada.admin", is_staff=True)


def errors_of(response) -> dict:
    return {name: list(errors) for name, errors in response.context["adminform"].form.errors.items()}


def test_an_ha_with_badly_formed_codes_is_refused_with_the_format(client, admin_user):
    response = client.post(
        reverse("admin:registrations_healthauthority_add"),
        {"cipher": "X-1", "name": "Bad HA", "nation": "England", "link_code": "TOOLONG", "nhais_mailbox": "mb 1"},
    )
    errors = errors_of(response)
    assert errors["cipher"] == ["Enter the HA cipher as 3 letters or digits, like XX1"]
    assert errors["link_code"][0].startswith("Enter a trading-partner code as 4 letters or digits")
    assert errors["nhais_mailbox"] == ["Enter a MESH mailbox id as 5 to 20 letters or digits, like GPMB00301"]
    assertContains(response, "3 letters or digits, like XX1.")
    assertContains(response, "<title>Error: Add health authority")

    good = client.post(
        reverse("admin:registrations_healthauthority_add"),
        {"cipher": "zz9", "name": "Good HA", "nation": "England", "link_code": "zz91", "nhais_mailbox": "nhais00009"},
    )
    assert good.status_code == 302
    ha = HealthAuthority.objects.get(cipher="ZZ9")
    assert (ha.link_code, ha.nhais_mailbox, ha.migrated) == ("ZZ91", "NHAIS00009", False)


def test_practices_and_gps_are_checked_and_postcodes_written_properly(client, admin_user):
    ha = HealthAuthorityFactory(cipher="XX1")
    data = {
        "ods_code": "81001", "name": "Bad Surgery", "address": "", "postcode": "NOT A CODE", "ha": ha.pk,
        "link_code": "AB1", "mesh_mailbox": "GPMB00999", "active": "on",
        "gps-TOTAL_FORMS": "1", "gps-INITIAL_FORMS": "0", "gps-0-national_code": "48269", "gps-0-local_code": "2,81",
        "gps-0-name": "Dr Bad", "gps-0-active": "on", "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = client.post(reverse("admin:registrations_practice_add"), data)
    errors = errors_of(response)
    assert errors["ods_code"] == ["Enter an ODS code as a letter and 5 digits, like A81001"]
    assert errors["postcode"] == ["Enter a real UK postcode, like LS1 4AP"]
    assert "like TES5" in errors["link_code"][0]
    gp_errors = response.context["inline_admin_formsets"][0].formset.errors[0]
    assert "7 digits" in gp_errors["national_code"][0] and "1 to 6 letters or digits" in gp_errors["local_code"][0]

    data.update({"ods_code": "a81001", "postcode": "ls14ap", "link_code": "ab15", "gps-0-national_code": "4826940"})
    data["gps-0-local_code"] = "281"
    assert client.post(reverse("admin:registrations_practice_add"), data).status_code == 302
    practice = Practice.objects.get(ods_code="A81001")
    assert (practice.postcode, practice.link_code) == ("LS1 4AP", "AB15")
    assert GP.objects.get(practice=practice).gp_code == "4826940,281"


def test_migrated_and_cut_over_date_are_not_editable_here_and_point_to_the_migration_page(client, admin_user):
    ha = HealthAuthorityFactory(cipher="XX2", name="Test HA XX2")
    HealthAuthority.objects.filter(pk=ha.pk).update(migrated=False, cutover_date=None)
    url = reverse("admin:registrations_healthauthority_change", args=[ha.pk])
    page = client.get(url)
    assertContains(page, f'href="{reverse("migration:readiness", args=["XX2"])}"')
    client.post(
        url,
        {"cipher": "XX2", "name": "Test HA XX2", "nation": "England", "link_code": ha.link_code, "migrated": "on",
         "cutover_date": "2026-12-01", "last_tn_sent": "99"},
    )  # fmt: skip
    ha.refresh_from_db()
    assert (ha.migrated, ha.cutover_date, ha.last_tn_sent) == (False, None, 0)
    changelist = client.get(reverse("admin:registrations_healthauthority_changelist"))
    assert 'name="form-0-migrated"' not in changelist.text


def test_sequence_counters_change_only_with_a_reason_recorded_with_who(client, admin_user):
    link = LinkFactory(practice=PracticeFactory())
    url = reverse("admin:registrations_link_counters", args=[link.pk])
    change = reverse("admin:registrations_link_change", args=[link.pk])
    assertContains(client.get(change), f'href="{url}"')

    refused = client.post(url, {"last_sis_sent": "41", "last_sms_sent": "0", "last_sis_received": "0",
                                "last_sms_received": "0", "reason": "short"})  # fmt: skip
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"reason", "confirm"}
    link.refresh_from_db()
    assert link.last_sis_sent == 0

    new = {"last_sis_sent": "41", "last_sms_sent": "7", "last_sis_received": "0", "last_sms_received": "0"}
    done = client.post(url, {**new, "reason": "Seeded from NHAIS's live values", "confirm": "on"})
    assertRedirects(done, change, fetch_redirect_response=False)
    link.refresh_from_db()
    assert (link.last_sis_sent, link.last_sms_sent) == (41, 7)
    entry = LogEntry.objects.get(object_id=str(link.pk), content_type__model="link")
    assert entry.user == admin_user
    assert "last_sis_sent 0 → 41" in entry.get_change_message()
    assert "Reason: Seeded from NHAIS's live values" in entry.get_change_message()

    # A plain save of the link form cannot move a counter.
    client.post(change, {"practice": link.practice.pk, "ha": link.ha.pk, "active": "on", "last_sis_sent": "1"})
    assert Link.objects.get(pk=link.pk).last_sis_sent == 41

    client.force_login(UserFactory(roles=["NBO agent"], is_staff=True))
    assert client.get(url).status_code == 403


def test_list_editable_inputs_have_names(client, admin_user):
    from django.contrib.auth.models import Group

    from accounts.models import NationalRoleMapping

    agents = Group.objects.get(name="NBO agent")
    NationalRoleMapping.objects.get_or_create(code="B0825", organisation="", pcrm_role=agents)
    page = client.get(reverse("admin:accounts_nationalrolemapping_changelist"))
    assertContains(page, 'aria-label="Active for')
