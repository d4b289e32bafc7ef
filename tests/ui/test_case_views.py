"""The case page through Django's test client: compare, candidates, rule trace, timeline, raw EDIFACT, audit,
and who may claim, release, assign, note and act."""

import hashlib

import pytest
from django.urls import reverse
from factories import (
    ExceptionCaseFactory,
    InterchangeFactory,
    MessageFactory,
    PatientFactory,
    TransactionFactory,
    UserFactory,
)
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains, assertRedirects

from exceptions.models import AuditEvent, CaseEvent, ExceptionCase
from registrations.ports import CaseKind

pytestmark = pytest.mark.django_db

RAW = (
    b"UNB+UNOA:2+TES5+XX11+200610:1438+00000001'\n"
    b"UNH+00000001+FHSREG:0:1:FH:FHS001'\n"
    b"BGM+++507'\nNAD+FHS+XX1:954'\nDTM+137:202006101438:203'\nRFF+950:G1'\n"
    b"S01+1'\nRFF+TN:1'\nNAD+GP+4826940,281:900'\n"
    b"S02+2'\nPNA+PAT+9434765919:OPI+++SU:SMYTHE+FO:JANE'\nDTM+329:19800517:102'\nPDI+2'\n"
    b"S01+1'\nRFF+TN:2'\nNAD+GP+4826940,281:900'\n"
    b"UNT+16+00000001'\nUNZ+1+00000001'\n"
)
TX_DATA = {
    "tn": 1,
    "type": "G1",
    "nhs_number": "9434765919",
    "surname": "SMYTHE",
    "forenames": ["JANE"],
    "sex": "2",
    "birth_date": "1980-05-17",
    "gp_code": "4826940,281",
    "address": {
        "house": "",
        "road": "1 HIGH STREET",
        "locality": "",
        "post_town": "LEEDS",
        "county": "",
        "postcode": "LS1 4AP",
    },
    "errors": [],
    "warnings": [],
}


@pytest.fixture
def mismatch():
    """A demographic mismatch: the practice says SMYTHE, PDS says SMITH; two trace candidates."""
    PatientFactory(nhs_number="9434765919", name="SMITH JANE")
    PatientFactory(nhs_number="9434765870", name="SMYTHE JANE")
    interchange = InterchangeFactory(raw=RAW, sha256=hashlib.sha256(RAW).hexdigest())
    tx = TransactionFactory(
        message=MessageFactory(interchange=interchange), tn=1, data=TX_DATA, status="MANUAL", nhs_number="9434765919"
    )
    return ExceptionCaseFactory(
        kind="DEMOGRAPHIC_MISMATCH",
        summary="Demographics differ: surname",
        nhs_number="9434765919",
        practice_ods="B82005",
        transaction=tx,
        interchange=interchange,
        evidence={
            "transaction": TX_DATA,
            "trace": {
                "outcome": "MULTIPLE",
                "candidates": [
                    {
                        "nhs_number": "9434765870",
                        "score": 0.93,
                        "matches": [
                            {"item": "surname", "result": "exact", "score": 1, "detail": "SMYTHE"},
                            {"item": "birth date", "result": "exact", "score": 1, "detail": "1980-05-17"},
                        ],
                    },
                    {
                        "nhs_number": "9434765919",
                        "score": 0.78,
                        "matches": [
                            {"item": "surname", "result": "fuzzy", "score": 0.8, "detail": "SMITH ~ SMYTHE"},
                        ],
                    },
                ],
            },
        },
        rule_trace=[
            {"check": "validation", "result": "passed", "why": "All mandatory items are present."},
            {"check": "demographics", "result": "differ", "why": "surname"},
        ],
    )


def url(case, name="exceptions:case-detail", *args):
    return reverse(name, args=[case.pk, *args])


def test_the_case_page_explains_compares_and_shows_the_evidence(client, agent, mismatch):
    response = client.get(url(mismatch))

    assert response.status_code == 200
    assertContains(response, f"<title>Case {mismatch.pk}: Demographic mismatch – PCRM – NHS</title>")
    assertContains(response, '<span class="pcrm-nowrap">943 476 5919</span>')
    assertContains(response, "Demographics differ: surname")
    assertInHTML('<strong class="nhsuk-tag nhsuk-tag--blue">Demographic mismatch</strong>', response.text)
    # Why it is here: the rule trace, the last check marked as the one that sent it.
    assertContains(response, 'id="rule-trace"')
    assertInHTML(
        '<tr class="nhsuk-table__row pcrm-decisive"><td class="nhsuk-table__cell">Demographics</td>'
        '<td class="nhsuk-table__cell">differ <strong class="nhsuk-tag nhsuk-tag--orange">Sent it here</strong></td>'
        '<td class="nhsuk-table__cell">surname</td></tr>',
        response.text,
    )
    # The message and PDS side by side; the surname differs, the birth date does not.
    assertInHTML(
        '<div class="nhsuk-summary-list__row nhsuk-summary-list__row--no-actions pcrm-differs">'
        '<dt class="nhsuk-summary-list__key">Surname</dt><dd class="nhsuk-summary-list__value">SMYTHE'
        ' <strong class="nhsuk-tag nhsuk-tag--orange pcrm-differs__tag">Differs</strong></dd></div>',
        response.text,
    )
    assertInHTML(
        '<div class="nhsuk-summary-list__row nhsuk-summary-list__row--no-actions pcrm-differs">'
        '<dt class="nhsuk-summary-list__key">Surname</dt><dd class="nhsuk-summary-list__value">SMITH'
        ' <strong class="nhsuk-tag nhsuk-tag--orange pcrm-differs__tag">Differs</strong></dd></div>',
        response.text,
    )
    assertInHTML(
        '<div class="nhsuk-summary-list__row nhsuk-summary-list__row--no-actions">'
        '<dt class="nhsuk-summary-list__key">Date of birth</dt><dd class="nhsuk-summary-list__value">17 May 1980</dd>'
        "</div>",
        response.text,
        count=2,
    )
    assertContains(response, "1 item differs")
    # Candidates with their scores and the reason for each item.
    assertContains(response, 'id="candidate-table"')
    assertContains(response, "93%")
    assertContains(response, "surname: fuzzy (SMITH ~ SMYTHE)")
    assertContains(response, "JANE SMYTHE")
    # The timeline and the raw interchange, one segment per line, this transaction (TN 1) marked.
    assertContains(response, 'class="pcrm-timeline"')
    assertContains(
        response,
        '<span class="pcrm-edifact__line pcrm-edifact__line--mine"><span class="pcrm-edifact__number"'
        ' aria-hidden="true">8</span>RFF+TN:1&#x27;</span>',
    )
    assertContains(
        response,
        '<span class="pcrm-edifact__line"><span class="pcrm-edifact__number" aria-hidden="true">15'
        "</span>RFF+TN:2&#x27;</span>",
    )


def test_every_view_of_a_case_is_audited_with_the_role(client, agent, mismatch):
    client.get(url(mismatch))
    event = AuditEvent.objects.get(action="view_case")
    assert (event.user, event.role, event.nhs_number, event.object_type, event.object_id) == (
        agent,
        "NBO agent",
        "9434765919",
        "case",
        str(mismatch.pk),
    )
    # The other patient the page shows (a trace candidate) is a view of that patient's record.
    shown = AuditEvent.objects.get(action="view_patient")
    assert (shown.user, shown.nhs_number, shown.detail) == (agent, "9434765870", {"case": mismatch.pk})


@pytest.mark.parametrize("role", ["PCSE viewer", None])
def test_people_without_the_queue_cannot_reach_a_case_by_its_id(client, mismatch, role):
    client.force_login(UserFactory(roles=[role] if role else []))
    for name, method in [
        ("exceptions:case-detail", client.get),
        ("exceptions:case-claim", client.post),
        ("exceptions:case-release", client.post),
        ("exceptions:case-assign", client.post),
        ("exceptions:case-note", client.post),
    ]:
        assert method(url(mismatch, name)).status_code == 403, name
    assert client.get(url(mismatch, "exceptions:case-action", "reject_to_practice")).status_code == 403
    assert not AuditEvent.objects.exists()


def test_anonymous_people_are_sent_to_sign_in(client, mismatch):
    response = client.get(url(mismatch))
    assertRedirects(response, f"{reverse('login')}?next={url(mismatch)}", fetch_redirect_response=False)


def test_an_unknown_case_is_a_404(client, agent):
    assert client.get(reverse("exceptions:case-detail", args=[999999])).status_code == 404


def test_an_unassigned_case_offers_claim_and_no_actions(client, agent, mismatch):
    response = client.get(url(mismatch))
    assertContains(response, 'id="claim-case"')
    assertContains(response, "Claim this case to act on it")
    assertNotContains(response, 'id="action-')
    # Acting on it by editing the URL is refused.
    # 403, not 404: the action exists for this case, the agent just does not hold it.
    assert client.get(url(mismatch, "exceptions:case-action", "reject_to_practice")).status_code == 403

    response = client.post(url(mismatch, "exceptions:case-claim"), follow=True)
    assertContains(response, f"Case {mismatch.pk} is now yours.")
    assertContains(response, 'id="release-case"')
    assert ExceptionCase.objects.get(pk=mismatch.pk).assigned_to == agent


def test_a_case_held_by_someone_else_cannot_be_claimed_or_released_by_an_agent(client, agent, mismatch):
    other = UserFactory(username="agent2", first_name="Sam", last_name="Second", roles=["NBO agent"])
    ExceptionCase.objects.filter(pk=mismatch.pk).update(assigned_to=other, status="IN_PROGRESS")
    response = client.get(url(mismatch))
    assertContains(response, "Sam Second is working this case. Only they can resolve it.")
    assertNotContains(response, 'id="claim-case"')
    assertNotContains(response, 'id="release-case"')
    assertNotContains(response, 'id="assign-case"')

    response = client.post(url(mismatch, "exceptions:case-claim"), follow=True)
    assertContains(response, "is already assigned to Sam Second")
    response = client.post(url(mismatch, "exceptions:case-release"), follow=True)
    assertContains(response, "only they or a team leader can release it")
    assert ExceptionCase.objects.get(pk=mismatch.pk).assigned_to == other


def test_team_leaders_assign_from_the_case_page(client, mismatch):
    leader = UserFactory(username="leader1", roles=["Team leader"])
    agent2 = UserFactory(username="agent2", first_name="Sam", last_name="Second", roles=["NBO agent"])
    client.force_login(leader)
    response = client.get(url(mismatch))
    assertContains(response, 'id="assign-case"')
    response = client.post(url(mismatch, "exceptions:case-assign"), {"assignee": agent2.pk}, follow=True)
    assertContains(response, f"Case {mismatch.pk} assigned to Sam Second.")
    assert ExceptionCase.objects.get(pk=mismatch.pk).assigned_to == agent2

    response = client.post(url(mismatch, "exceptions:case-assign"), {})
    assert response.status_code == 400
    assertContains(response, '<a href="#id_assignee">', status_code=400)


def test_agents_cannot_assign_to_colleagues(client, agent, mismatch):
    other = UserFactory(roles=["NBO agent"])
    assert client.post(url(mismatch, "exceptions:case-assign"), {"assignee": other.pk}).status_code == 403


def test_notes_go_on_the_timeline(client, agent, mismatch):
    response = client.post(url(mismatch, "exceptions:case-note"), {"note": "Rang the practice."}, follow=True)
    assertContains(response, "Note added.")
    assertContains(response, "Rang the practice.")
    assertContains(response, "by Asha Patel")
    assert CaseEvent.objects.filter(case=mismatch, action="note", user=agent).exists()

    response = client.post(url(mismatch, "exceptions:case-note"), {"note": ""})
    assert response.status_code == 400
    assertContains(response, '<a href="#id_note">Enter a note</a>', status_code=400)
    response = client.post(url(mismatch, "exceptions:case-note"), {"note": "x" * 1001})
    assertContains(response, "Notes must be 1000 characters or fewer", status_code=400)


def test_a_sensitive_address_is_hidden_from_agents(client, agent, mismatch):
    from pds.models import Patient

    Patient.objects.filter(nhs_number="9434765919").update(sensitive=True)
    response = client.get(url(mismatch))
    pds_side = response.text[response.text.index('id="compare-pds"') : response.text.index('id="candidates"')]
    # Restricted, never "Not held": the role may not see these items, which is not the same as PDS lacking them.
    for item in ("Place of birth", "Address", "Postcode", "GP practice"):
        row = pds_side[pds_side.index(f">{item}</dt>") :]
        assert row[: row.index("</dd>")].rstrip().endswith("Restricted"), item
    assert "LS1 4AP" not in pds_side
    assert "1 HIGH STREET" not in pds_side
    assert pds_side.count("Differs") == 1  # the surname; a hidden address is not shown as different


def test_the_holder_sees_the_actions_the_kind_allows(client, agent, mismatch):
    ExceptionCase.objects.filter(pk=mismatch.pk).update(assigned_to=agent, status="IN_PROGRESS")
    response = client.get(url(mismatch))
    assertContains(response, f'href="/cases/{mismatch.pk}/actions/reject_to_practice/"')
    assertContains(response, 'id="action-escalate"')
    assert client.get(url(mismatch, "exceptions:case-action", "approve_removal")).status_code == 404
    assert client.get(url(mismatch, "exceptions:case-action", "no_such_action")).status_code == 404


def test_back_to_the_queue_returns_to_the_users_last_queue_page(client, agent, mismatch):
    client.get(reverse("exceptions:case-list"), {"view": "all", "sort": "kind"})
    response = client.get(url(mismatch))
    assertContains(response, '<a class="nhsuk-back-link" href="/cases/?view=all&amp;sort=kind" id="back-to-queue">')


@pytest.mark.parametrize("kind", [k.value for k in CaseKind])
def test_every_kind_of_case_has_a_page_even_without_a_transaction(client, agent, kind):
    case = ExceptionCaseFactory(
        kind=kind, nhs_number="", summary=f"A {kind} case", assigned_to=agent, status="IN_PROGRESS"
    )
    response = client.get(url(case))
    assert response.status_code == 200
    assertContains(response, f"A {kind} case")
    # No message, so no comparison with rows of "Not sent" / "Not held": the page shows what it has.
    assertNotContains(response, "Not sent</dd>")
    assertNotContains(response, "Not held</dd>")
    # Actions the resolution services would refuse for want of a transaction are not offered.
    assertNotContains(response, 'id="action-apply_with_patient"')
