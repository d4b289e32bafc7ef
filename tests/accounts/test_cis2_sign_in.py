"""Signing in through a real OpenID Connect provider (the local CIS2, oidc-provider from npm) over HTTP:
the claims read, the role mapping, the refusals and the audit. Browser journeys are in test_cis2_browser.py."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
import time_machine
from cis2_local import (
    ADMIN,
    AGENT,
    ID_TOKEN_TTL,
    LEADER,
    LEADER_AS_AGENT,
    LEADER_AS_LEADER,
    NO_ROLES,
    PCSE,
    RECEPTIONIST,
)
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import NationalRoleMapping, StaffIdentity
from exceptions.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def signed_in_user(response):
    match = re.search(r'data-testid="role-in-use">\s*([^<]+?)\s*</li>', response.text)
    return match.group(1) if match else None


def test_an_agent_signs_in_and_gets_the_agent_role_from_the_mapping(http_sign_in):
    response = http_sign_in.sign_in(AGENT)

    assert response.status_code == 200
    assert urlparse(response.url).path == "/cases/"
    assert "Alex Agent" in response.text
    assert signed_in_user(response) == "Admin/Clinical Support Access Role, NHS England (National Back Office)"
    identity = StaffIdentity.objects.get(uid=AGENT)
    assert identity.user.get_full_name() == "Alex Agent"
    assert not identity.user.has_usable_password()
    assert list(identity.user.groups.values_list("name", flat=True)) == ["NBO agent"]
    # What an agent may reach, and what not.
    assert http_sign_in.get("/cases/").status_code == 200
    assert http_sign_in.get("/audit/").status_code == 403
    assert http_sign_in.get("/registrations/capitation/").status_code == 403


def test_the_sign_in_is_audited_with_the_role_profile_and_organisation(http_sign_in):
    http_sign_in.sign_in(AGENT)
    http_sign_in.get("/cases/?q=9434765919")

    event = AuditEvent.objects.filter(action="sign_in").get()
    assert event.user.cis2_identity.uid == AGENT
    assert (event.role, event.role_profile, event.organisation) == ("NBO agent", "555000001101", "X26")
    assert event.detail == {"method": "cis2", "acr": "AAL3_ANY", "pcrm_roles": ["NBO agent"]}
    # An action taken in the session carries the same role profile, without the caller passing it.
    search = AuditEvent.objects.filter(action="search_queue").get()
    assert (search.role, search.role_profile, search.organisation) == ("NBO agent", "555000001101", "X26")


@pytest.mark.parametrize(
    ("uid", "role_id", "roles", "reach", "refused"),
    [
        (
            LEADER,
            LEADER_AS_LEADER,
            ["NBO agent", "Team leader"],
            ["/cases/", "/audit/"],
            ["/registrations/capitation/"],
        ),
        (PCSE, None, ["PCSE viewer"], ["/registrations/capitation/"], ["/cases/", "/audit/"]),
        (ADMIN, None, ["Administrator", "NBO agent", "PCSE viewer", "Team leader"], ["/cases/", "/audit/"], []),
    ],
)
def test_each_role_profile_reaches_what_its_mapping_grants(http_sign_in, uid, role_id, roles, reach, refused):
    response = http_sign_in.sign_in(uid, role_id)
    assert response.status_code == 200, response.text
    user = StaffIdentity.objects.get(uid=uid).user
    assert sorted(user.groups.values_list("name", flat=True)) == roles
    for path in reach:
        assert http_sign_in.get(path).status_code == 200, path
    for path in refused:
        assert http_sign_in.get(path).status_code == 403, path


def test_a_role_with_no_mapping_gets_a_page_saying_so_and_no_session(http_sign_in):
    response = http_sign_in.sign_in(RECEPTIONIST)

    assert response.status_code == 403
    assert "Your role does not give you access to PCRM" in response.text
    assert "Receptionist" in response.text and "B82005" in response.text
    assert http_sign_in.get("/cases/", allow_redirects=False).status_code == 302  # still not signed in
    event = AuditEvent.objects.get(action="sign_in_refused")
    assert event.detail["reason"] == "nothing_granted"
    assert (event.detail["role_profile_id"], event.detail["organisation"]) == ("555000001501", "B82005")


def test_a_person_with_no_role_profile_is_told_so(http_sign_in):
    response = http_sign_in.sign_in(NO_ROLES)
    assert response.status_code == 403
    assert "You have no role selected" in response.text


def test_a_mapping_an_administrator_adds_applies_from_the_next_sign_in(http_sign_in):
    assert http_sign_in.sign_in(RECEPTIONIST).status_code == 403
    NationalRoleMapping.objects.create(
        code="B0820", organisation="B82005", pcrm_role_id=_group("PCSE viewer"), description="test"
    )
    response = http_sign_in.sign_in(RECEPTIONIST)
    assert response.status_code == 200
    assert http_sign_in.get("/registrations/capitation/").status_code == 200


def _group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name).pk


def test_changing_role_goes_back_through_cis2_and_rederives_permissions(http_sign_in):
    http_sign_in.sign_in(LEADER, LEADER_AS_LEADER)
    assert http_sign_in.get("/audit/").status_code == 200

    # "Change role" posts to PCRM, which sends the browser back to CIS2 to choose again.
    response = http_sign_in.post("/accounts/cis2/change-role/", allow_redirects=True)
    assert "/interaction/" in response.url and "Whose smartcard" in response.text
    chosen = http_sign_in.choose_person(response, LEADER)
    assert "Select your role" in chosen.text
    chosen.url = f"{response.url.rstrip('/')}/login"
    response = http_sign_in.finish(http_sign_in.to_callback(http_sign_in.choose_role(chosen, LEADER, LEADER_AS_AGENT)))

    assert response.status_code == 200
    assert http_sign_in.get("/audit/").status_code == 403  # the team leader's permissions did not carry over
    assert http_sign_in.get("/cases/").status_code == 200
    change = AuditEvent.objects.get(action="change_role")
    assert (change.role, change.role_profile) == ("NBO agent", LEADER_AS_AGENT)


def test_permissions_belong_to_the_session_not_the_person(http_sign_in, live_server):
    """The same person signed in twice under two role profiles has each role's permissions in each."""
    from cis2_local import HttpSignIn

    as_leader = http_sign_in
    as_leader.sign_in(LEADER, LEADER_AS_LEADER)
    as_agent = HttpSignIn(live_server.url)
    as_agent.sign_in(LEADER, LEADER_AS_AGENT)

    assert as_leader.get("/audit/").status_code == 200
    assert as_agent.get("/audit/").status_code == 403


def with_query(url: str, **changes) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunparse(parts._replace(query=urlencode(query)))


def test_a_wrong_state_is_refused(http_sign_in):
    callback = http_sign_in.callback_url(AGENT)
    response = http_sign_in.finish(with_query(callback, state="not-the-state-we-sent"))

    assert response.status_code == 400
    assert "was not started from this browser" in response.text
    assert http_sign_in.get("/cases/", allow_redirects=False).status_code == 302
    assert not AuditEvent.objects.filter(action="sign_in").exists()


def test_a_callback_used_twice_is_refused(http_sign_in):
    callback = http_sign_in.callback_url(AGENT)
    assert http_sign_in.finish(callback).status_code == 200
    http_sign_in.post("/accounts/logout/")
    assert http_sign_in.finish(callback).status_code == 400


def test_a_wrong_nonce_is_refused(http_sign_in):
    """The ID token's nonce must be the one this browser's sign-in sent: here the session's copy differs, as
    if an ID token minted for another sign-in had been injected."""
    callback = http_sign_in.callback_url(AGENT)
    state = parse_qs(urlparse(callback).query)["state"][0]
    session = Session.objects.get(session_key=http_sign_in.http.cookies["sessionid"])
    data = session.get_decoded()
    data[f"_state_cis2_{state}"]["data"]["nonce"] = "a-different-nonce"
    Session.objects.save(session.session_key, data, session.expire_date)

    response = http_sign_in.finish(callback)

    assert response.status_code == 400
    assert "could not verify the answer from CIS2" in response.text
    assert http_sign_in.get("/cases/", allow_redirects=False).status_code == 302


def test_an_expired_id_token_is_refused(http_sign_in):
    callback = http_sign_in.callback_url(AGENT)
    # PCRM reads the ID token after it expired (the provider's ID tokens live ID_TOKEN_TTL seconds, and PCRM
    # allows CIS2_CLOCK_SKEW_SECONDS of clock difference); the session is younger than its idle timeout.
    later = timezone.now() + dt.timedelta(seconds=ID_TOKEN_TTL + 120)
    with time_machine.travel(later, tick=True):
        response = http_sign_in.finish(callback)

    assert response.status_code == 400
    assert "had expired" in response.text
    assert not AuditEvent.objects.filter(action="sign_in").exists()


def test_an_id_token_below_the_required_assurance_is_refused(http_sign_in, settings):
    """PCRM asks for acr_values; an ID token whose acr is not one PCRM accepts is refused."""
    settings.CIS2_ACR_VALUES = ["AAL2_ANY"]  # the provider answers the first value it supports...
    callback = http_sign_in.callback_url(AGENT)
    settings.CIS2_ACR_VALUES = ["AAL3_ANY"]  # ...and PCRM now requires AAL3
    response = http_sign_in.finish(callback)
    assert response.status_code == 400
