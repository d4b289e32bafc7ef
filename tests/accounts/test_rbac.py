"""accounts.rbac on its own: which role profile a sign-in selected and what the mapping table grants."""

import pytest

from accounts import rbac

USERINFO = {
    "sub": "555000000012",
    "nhsid_user_orgs": [{"org_code": "X26", "org_name": "NHS England"}],
    "nhsid_nrbac_roles": [
        {
            "person_roleid": "1201",
            "org_code": "X26",
            "role_code": "S8000:G8000:R8000",
            "role_name": '"Admin & Clerical":"Management - A & C":"Team leader"',
            "activity_codes": ["B0825", "B9101"],
        },
        {
            "person_roleid": "1202",
            "org_code": "Y123",
            "role_code": "S8000:G8001:R8008",
            "role_name": '"Admin & Clerical":"Admin":"Clerk"',
            "activity_codes": ["B0820"],
        },
    ],
}
MAPPINGS = [
    rbac.Mapping("B0825", "", "NBO agent"),
    rbac.Mapping("B9101", "X26", "Team leader"),
    rbac.Mapping("R8008", "Y999", "PCSE viewer"),
]


def test_the_selected_role_profile_comes_from_the_id_token_and_is_read_from_userinfo():
    profile = rbac.selected_profile({"selected_roleid": "1201"}, USERINFO)
    assert profile.role_id == "1201"
    assert (profile.org_code, profile.org_name) == ("X26", "NHS England")
    assert profile.title == "Team leader"
    assert profile.job_role_code == "R8000"
    assert profile.codes == {"B0825", "B9101", "R8000"}


def test_userinfo_may_carry_the_selected_role_instead():
    assert rbac.selected_profile({}, {**USERINFO, "selected_roleid": "1202"}).role_id == "1202"


def test_no_selected_role_is_refused():
    with pytest.raises(rbac.RoleRefused) as refused:
        rbac.selected_profile({}, USERINFO)
    assert refused.value.reason == rbac.NO_ROLE_SELECTED


def test_a_selected_role_the_person_does_not_hold_is_refused():
    with pytest.raises(rbac.RoleRefused) as refused:
        rbac.selected_profile({"selected_roleid": "9999"}, USERINFO)
    assert refused.value.reason == rbac.UNKNOWN_ROLE


def test_every_matching_row_grants_its_role_and_an_organisation_row_only_there():
    leader = rbac.selected_profile({"selected_roleid": "1201"}, USERINFO)
    assert rbac.granted_roles(leader, MAPPINGS) == ("NBO agent", "Team leader")
    elsewhere = rbac.RoleProfile("1", "", "S:G:R0001", "Y555", "", ("B9101",))
    with pytest.raises(rbac.RoleRefused):
        rbac.granted_roles(elsewhere, MAPPINGS)  # B9101 is mapped only at X26


def test_a_job_role_code_can_be_mapped_too():
    clerk = rbac.RoleProfile("1", "", "S8000:G8001:R8008", "Y999", "", ())
    assert rbac.granted_roles(clerk, MAPPINGS) == ("PCSE viewer",)


def test_a_role_profile_no_row_matches_grants_nothing():
    clerk = rbac.selected_profile({"selected_roleid": "1202"}, USERINFO)
    with pytest.raises(rbac.RoleRefused) as refused:
        rbac.granted_roles(clerk, MAPPINGS)
    assert refused.value.reason == rbac.NOTHING_GRANTED
    assert refused.value.profile == clerk


def test_malformed_role_entries_are_ignored():
    userinfo = {"nhsid_nrbac_roles": ["nonsense", {"org_code": "X26"}, {"person_roleid": 7, "activity_codes": None}]}
    assert [p.role_id for p in rbac.role_profiles(userinfo)] == ["7"]
