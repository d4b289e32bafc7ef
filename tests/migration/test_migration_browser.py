"""In a real browser: an administrator reads an HA's cut-over readiness and the shadow run, is refused a
cut-over while the checklist fails until they give a reason, cuts over, then cuts back. axe on each page."""

import pytest
from django.utils import timezone
from factories import PatientFactory, UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, screenshot, sign_in
from support_migration import ROW, counters, extract, person, three_patients, write_interchange

from migration.models import CutoverEvent
from migration.services.counters import import_counters
from migration.services.imports import import_registrations
from migration.services.shadow import run_shadow
from registrations.models import HealthAuthority

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def half_way(ha, tmp_path):
    """Counters and an extract imported (one PDS difference, opened as a case), a shadow run, no date."""
    link = {"last_sis_sent": 7, "last_sms_sent": 7, "last_sis_received": 3, "last_sms_received": 3}
    import_counters(
        ha,
        counters(
            {"link_code": "PAL5", **link}, {"link_code": "PAM5", **link}, {"link_code": "BE01", "last_tn_sent": 40}
        ),
        file_name="counters.csv",
        by="seed",
    )
    rows = three_patients()
    rows[2]["surname"] = "SMYTHE"
    import_registrations(
        ha,
        extract(*rows, {**ROW, "nhs_number": "123"}),
        file_name="extract.csv",
        by="seed",
        skip_invalid=True,
        open_cases=True,
    )
    PatientFactory(nhs_number="9000000017", name="BROWN ANNE", registered_at="C85001")
    PatientFactory(nhs_number="9000000025", name="GREEN RUTH", registered_at="C85001")
    inbound, outbound = tmp_path / "in", tmp_path / "out"
    write_interchange(inbound, "PAL5", "BE01", 1, person(11, "9000000017", "BROWN", "ANNE", "4800110,110"))
    write_interchange(
        inbound, "PAL5", "BE01", 2, person(12, "9000000025", "GREEN", "RUTH", "4800110,110", free_text="CARER")
    )
    for sis, tn in ((1, 11), (2, 12)):
        tx = {"tn": tn, "type": "F4", "gp_code": "4800110,110", "nhs_number": None, "errors": [], "warnings": []}
        write_interchange(outbound, "BE01", "PAL5", sis, tx)
    run_shadow(ha, inbound, outbound, by="seed")


def test_an_administrator_checks_readiness_overrides_to_cut_over_and_cuts_back(
    browser_page: Page, live_server, nhais_ha, tmp_path
):
    page = browser_page
    half_way(nhais_ha.ha, tmp_path)
    UserFactory(username="ada.admin", first_name="Ada", last_name="Admin", roles=["Administrator"])

    # Given an administrator signed in, when they open the HA's migration page, then the checklist says what is missing.
    page.goto(f"{live_server.url}/accounts/login/?next=/migration/")
    sign_in(page, "ada.admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Migration from NHAIS")
    page.get_by_role("link", name="BE Berkshire").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Berkshire")
    checklist = page.locator("#checklist")
    expect(checklist.locator("[data-check=counters]")).to_contain_text("Passed")
    expect(checklist.locator("[data-check=registrations]")).to_contain_text("1 rejected row.")
    expect(checklist.locator("[data-check=cases]")).to_contain_text("1 migration case open")
    expect(checklist.locator("[data-check=shadow]")).to_contain_text("50.0% of 2 transactions agreed")
    expect(page.locator("#link-counters")).to_contain_text("PAL5")
    assert_accessible(page)
    screenshot(page, "migration-readiness")

    # When they open the shadow run, then PCRM's trace stands beside NHAIS's answer for each disagreement.
    page.get_by_role("link", name="See every decision beside NHAIS's answer").click()
    page.get_by_label("Verdict").select_option("disagreed")
    page.get_by_role("button", name="Show").click()
    results = page.locator("#shadow-results")
    expect(results).to_contain_text("person: FREE_TEXT")
    expect(results).not_to_contain_text("Agreed")
    page.get_by_text("Rule trace").click()
    expect(results).to_contain_text("GP notes")
    assert_accessible(page)
    page.get_by_role("link", name="Back to Berkshire").click()

    # When they plan the date with the NHS.UK date input, then the checklist's last item passes.
    page.get_by_role("link", name="Plan the cut-over date").click()
    page.get_by_label("Day").fill("4")
    page.get_by_label("Month").fill("1")
    page.get_by_label("Year").fill(str(timezone.localdate().year + 1))
    assert_accessible(page)
    page.get_by_role("button", name="Save the planned date").click()
    expect(checklist.locator("[data-check=planned]")).to_contain_text("Passed")

    # When they try to cut over without a reason, then they are told to give one and nothing changes.
    page.get_by_role("link", name="Cut over to PCRM").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cut Berkshire over to PCRM?")
    page.get_by_role("button", name="Override the checklist and cut over").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter why the HA should cut over")
    assert page.title().startswith("Error:")
    assert_accessible(page)
    assert not HealthAuthority.objects.get(cipher="BE").migrated

    # When they give a reason, then the HA is cut over, the override recorded.
    page.get_by_label("Reason for overriding the checklist").fill("Programme board accepted the open difference")
    page.get_by_role("button", name="Override the checklist and cut over").click()
    expect(page.get_by_role("alert")).to_contain_text("cuts over to PCRM on")
    expect(page.locator("#cutover-history")).to_contain_text("Cut over to PCRM by ada.admin (checklist overridden)")
    assert HealthAuthority.objects.get(cipher="BE").migrated
    assert_accessible(page)

    # When they cut back with a reason, then traffic goes to NHAIS again.
    page.get_by_role("link", name="Cut back to NHAIS").click()
    expect(page.locator("#link-counters")).to_contain_text("Counters to hand back to NHAIS")
    page.get_by_label("Why is the HA going back to NHAIS?").fill("Practices report missing approvals")
    page.get_by_role("button", name="Cut back to NHAIS").click()
    expect(page.get_by_role("alert")).to_contain_text("back on NHAIS")
    assert not HealthAuthority.objects.get(cipher="BE").migrated
    assert [e.action for e in CutoverEvent.objects.order_by("id")][-2:] == ["CUT_OVER", "CUT_BACK"]
