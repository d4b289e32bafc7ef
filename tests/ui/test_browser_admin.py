"""In a real browser, #16 item 13: an administrator meets an admin that refuses bad reference data, sends
cut-over to the migration page and guards the sequence counters; axe on every admin page visited."""

import re

import pytest
from factories import HealthAuthorityFactory, LinkFactory, PracticeFactory, UserFactory
from playwright.sync_api import Page, expect
from support import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_corrects_reference_data_in_the_admin(browser_page: Page, live_server):
    page = browser_page
    UserFactory(username="ada.admin", first_name="Ada", last_name="Admin", roles=["Administrator"], is_staff=True)
    ha = HealthAuthorityFactory(cipher="XX1")
    link = LinkFactory(practice=PracticeFactory(ha=ha))

    page.goto(f"{live_server.url}/accounts/login/?next=/admin/")
    sign_in(page, "ada.admin")
    expect(page).to_have_url(f"{live_server.url}/admin/")
    assert_accessible(page)

    # A practice with a mistyped ODS code and postcode is refused, each error saying the format.
    page.goto(f"{live_server.url}/admin/registrations/practice/add/")
    assert_accessible(page)
    page.locator("#id_ods_code").fill("81001")
    page.locator("#id_name").fill("Bad Surgery")
    page.locator("#id_postcode").fill("LS1")
    page.locator("#id_ha").select_option(label=str(ha))
    page.locator("#id_link_code").fill("BAD5")
    page.locator("#id_mesh_mailbox").fill("GPMB00999")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".errorlist").first).to_contain_text("like A81001")
    expect(page.locator(".field-postcode .errorlist")).to_contain_text("like LS1 4AP")
    assert_accessible(page)

    # The HA's cut-over is on the migration page, not a tick box here.
    page.goto(f"{live_server.url}/admin/registrations/healthauthority/{ha.pk}/change/")
    expect(page.get_by_role("link", name="Open the migration page for XX1")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/admin/registrations/healthauthority/")
    assert_accessible(page)

    # Sequence numbers change only with a reason and a confirmation.
    page.goto(f"{live_server.url}/admin/registrations/link/{link.pk}/change/")
    assert_accessible(page)
    page.get_by_role("link", name="Change sequence numbers").click()
    assert_accessible(page)
    page.locator("#id_last_sis_sent").fill("41")
    page.locator("#id_reason").fill("Seeded from NHAIS's live values")
    page.get_by_role("button", name="Change sequence numbers").click()
    expect(page.locator(".errorlist")).to_contain_text("Confirm that you have checked these numbers")
    assert_accessible(page)
    page.locator("#id_confirm").check()
    page.get_by_role("button", name="Change sequence numbers").click()
    expect(page.locator(".messagelist")).to_contain_text("last_sis_sent 0 → 41")

    # List-editable tick boxes have names; the break-glass form has no unnamed autocomplete.
    page.goto(f"{live_server.url}/admin/accounts/nationalrolemapping/")
    assert_accessible(page)
    page.goto(f"{live_server.url}/admin/accounts/breakglassaccount/add/")
    assert_accessible(page)
