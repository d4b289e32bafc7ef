"""The audit log's CSV export (#16 item 11): the same search as the page, every match, reasons in words;
only for roles that may search the log, and itself recorded in the log."""

import csv
import io

import pytest
from django.urls import reverse
from factories import AuditEventFactory, UserFactory

from exceptions.models import AuditEvent

pytestmark = pytest.mark.django_db

EXPORT = reverse("exceptions:audit-export")


def rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="pcrm-audit-')
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_team_leader_exports_the_search_as_csv_with_reasons_in_words(client):
    leader = UserFactory(username="terry", first_name="Terry", last_name="Leader", roles=["Team leader"])
    agent = UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    AuditEventFactory(
        user=agent,
        role="NBO agent",
        action="case_apply_with_patient",
        nhs_number="9434765919",
        object_id="7",
        detail={"reason_code": "SAME_PERSON_CONFIRMED"},
    )
    AuditEventFactory(user=agent, role="NBO agent", action="view_case", nhs_number="9434765870")
    AuditEventFactory(user=agent, role="NBO agent", action="view_case", nhs_number="9434765919", object_id="7")
    client.force_login(leader)

    page = client.get(reverse("exceptions:audit"), {"nhs_number": "943 476 5919"})
    assert 'href="/audit/export.csv?nhs_number=943+476+5919"' in page.text

    table = rows(client.get(EXPORT, {"nhs_number": "943 476 5919"}))
    assert table[0][:3] == ["When", "Who", "Role"]
    # Newest first: this export, the page's search (both about the number searched for), then the entries.
    assert [r[5] for r in table[1:]] == [
        "Exported the audit log (CSV)",
        "Searched the audit log",
        "Viewed a case",
        "Case action: Apply with this patient",
    ]
    decision = table[4]
    assert decision[1] == "Asha Patel" and decision[2] == "NBO agent"
    assert decision[6] == "Demographics checked: the same person"  # not SAME_PERSON_CONFIRMED
    assert decision[7] == "9434765919" and decision[8] == "case 7"
    # The export is in the log, with the search it used.
    export = AuditEvent.objects.get(action="export_audit")
    assert (export.user, export.nhs_number) == (leader, "9434765919")


def test_a_cell_that_a_spreadsheet_would_run_is_kept_as_text(client):
    UserFactory(username="terry", roles=["Team leader"])
    AuditEventFactory(user=UserFactory(username="=cmd", roles=["NBO agent"]), role="NBO agent", action="view_case")
    client.force_login(UserFactory(username="terry"))
    table = rows(client.get(EXPORT))
    assert "'=cmd" in [r[1] for r in table[1:]]


def test_roles_that_may_not_search_the_log_may_not_export_it(client):
    for username, role in (("asha", "NBO agent"), ("pat", "PCSE viewer")):
        client.force_login(UserFactory(username=username, roles=[role]))
        assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action="export_audit").exists()


def test_an_invalid_search_shows_the_page_with_its_errors_instead(client):
    client.force_login(UserFactory(username="terry", roles=["Team leader"]))
    response = client.get(EXPORT, {"nhs_number": "123"})
    assert response["Content-Type"].startswith("text/html")
    assert "Error: Audit log" in response.text
    assert not AuditEvent.objects.filter(action="export_audit").exists()
