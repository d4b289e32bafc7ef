"""The readiness page, the shadow report and the cut-over / cut-back actions: who may see and do what,
the checklist's refusals and override, CSRF, and the audit trail."""

import pytest
from factories import UserFactory
from support_migration import counters, extract, three_patients

from exceptions.models import AuditEvent, ExceptionCase
from migration.models import CutoverEvent
from migration.services import cutover
from migration.services.counters import import_counters
from migration.services.cutover import CutoverRefused
from migration.services.imports import import_registrations
from registrations.models import HealthAuthority

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada", roles=["Administrator"]))
    return client


def prepared(ha, *, differ: bool = False):
    """Counters and registrations imported, a plan: everything but the shadow run."""
    rows = three_patients()
    if differ:
        rows[0]["surname"] = "WRONGNAME"
    link = {"last_sis_sent": 1, "last_sms_sent": 1, "last_sis_received": 1, "last_sms_received": 1}
    import_counters(
        ha,
        counters(
            {"link_code": "PAL5", **link}, {"link_code": "PAM5", **link}, {"link_code": "BE01", "last_tn_sent": 9}
        ),
        file_name="counters.csv",
        by="tester",
    )
    import_registrations(ha, extract(*rows), file_name="extract.csv", by="tester", open_cases=differ)
    cutover.plan(ha, None, by="tester")


@pytest.mark.parametrize(
    ("role", "status"), [("NBO agent", 403), ("PCSE viewer", 403), ("Team leader", 200), ("Administrator", 200)]
)
def test_readiness_is_for_team_leaders_and_administrators(client, nhais_ha, role, status):
    client.force_login(UserFactory(roles=[role]))
    assert client.get("/migration/BE/").status_code == status
    assert client.get("/migration/").status_code == status


def test_team_leaders_see_the_checklist_but_cannot_cut_over(client, nhais_ha):
    prepared(nhais_ha.ha)
    client.force_login(UserFactory(roles=["Team leader"]))
    page = client.get("/migration/BE/").content.decode()
    assert "Link counters imported" in page and "Shadow run agrees with NHAIS" in page
    assert "Cut over to PCRM" not in page
    assert client.get("/migration/BE/cut-over/").status_code == 403
    assert client.post("/migration/BE/cut-over/", {"reason": "x"}).status_code == 403


def test_cut_over_refuses_a_failing_checklist_without_a_reason(admin_client, nhais_ha):
    prepared(nhais_ha.ha)  # no shadow run, no planned date
    page = admin_client.get("/migration/BE/cut-over/").content.decode()
    assert "The checklist has failures" in page
    response = admin_client.post("/migration/BE/cut-over/", {"reason": ""})
    assert response.status_code == 200
    assert "Enter why the HA should cut over although the checklist fails" in response.content.decode()
    assert not HealthAuthority.objects.get(cipher="BE").migrated
    with pytest.raises(CutoverRefused):
        cutover.cut_over(nhais_ha.ha, by="tester")


def test_an_override_with_a_reason_cuts_over_and_is_audited(admin_client, nhais_ha):
    prepared(nhais_ha.ha, differ=True)
    assert ExceptionCase.objects.filter(kind="MIGRATION_DIFFERENCE").count() == 1
    response = admin_client.post("/migration/BE/cut-over/", {"reason": "Board approved: shadow run next week"})
    assert response.status_code == 302
    ha = HealthAuthority.objects.get(cipher="BE")
    assert ha.migrated and ha.cutover_date is not None
    event = CutoverEvent.objects.get(action="CUT_OVER")
    assert event.overridden and event.by == "ada"
    assert {c["key"] for c in event.checklist if not c["ok"]} == {"shadow", "cases", "planned"}
    audit = AuditEvent.objects.get(action="migration_cut_over")
    assert audit.user.username == "ada" and audit.detail["overridden"] is True
    assert set(audit.detail["failing"]) == {"shadow", "cases", "planned"}


def test_cut_back_needs_a_reason_and_is_audited(admin_client, nhais_ha):
    HealthAuthority.objects.filter(pk=nhais_ha.ha.pk).update(migrated=True)
    assert (
        "Enter why the HA is going back to NHAIS" in admin_client.post("/migration/BE/cut-back/", {}).content.decode()
    )
    response = admin_client.post("/migration/BE/cut-back/", {"reason": "F4s not reaching practices"})
    assert response.status_code == 302
    assert not HealthAuthority.objects.get(cipher="BE").migrated
    assert AuditEvent.objects.get(action="migration_cut_back").detail["reason"] == "F4s not reaching practices"


def test_cutting_over_needs_the_csrf_token(nhais_ha):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(roles=["Administrator"]))
    assert client.post("/migration/BE/cut-over/", {"reason": "x"}).status_code == 403
    assert not HealthAuthority.objects.get(cipher="BE").migrated


def test_anonymous_people_are_sent_to_sign_in(client, nhais_ha):
    response = client.get("/migration/BE/")
    assert response.status_code == 302 and "/login" in response["Location"]


def agreeing_shadow_run(ha):
    from migration.models import ShadowResult, ShadowRun

    run = ShadowRun.objects.create(
        ha=ha,
        by="tester",
        transactions=2,
        agreed=1,
        disagreed=1,
        by_type={"G1": {"transactions": 2, "agreed": 1, "disagreed": 1, "unmatched": 0}},
    )
    trace = [{"check": "GP notes", "result": "present", "why": "PCSE stops on free text"}]
    ShadowResult.objects.create(
        run=run, type="G1", sender="PAL5", sis=1, tn=7, nhs_number="9434765919", verdict="disagreed",
        pcrm_answer="person: FREE_TEXT", pcrm_outcome="MANUAL", case_kind="FREE_TEXT", rule_trace=trace,
        nhais_answer="F4", note="PCRM would ask a person (FREE_TEXT); NHAIS sent F4.",
    )  # fmt: skip
    ShadowResult.objects.create(
        run=run, type="G1", sender="PAL5", sis=2, tn=8, verdict="agreed", pcrm_answer="F4", pcrm_outcome="DONE",
        nhais_answer="F4",
    )  # fmt: skip
    return run


def test_a_passing_checklist_cuts_over_on_the_planned_date(admin_client, nhais_ha, settings):
    import datetime as dt

    from django.utils import timezone

    settings.MIGRATION_SHADOW_MIN_AGREEMENT_PERCENT = 50
    prepared(nhais_ha.ha)
    agreeing_shadow_run(nhais_ha.ha)
    planned = timezone.localdate() + dt.timedelta(days=14)
    cutover.plan(nhais_ha.ha, planned, by="tester")
    page = admin_client.get("/migration/BE/cut-over/").content.decode()
    assert "The checklist has failures" not in page and "Reason for overriding" not in page
    assert admin_client.post("/migration/BE/cut-over/", {}).status_code == 302
    ha = HealthAuthority.objects.get(cipher="BE")
    assert ha.migrated and ha.cutover_date == planned
    assert not ha.is_served_by_pcrm(timezone.localdate())  # NHAIS keeps the traffic until the planned date
    assert not CutoverEvent.objects.get(action="CUT_OVER").overridden


def test_the_shadow_page_shows_pcrms_trace_beside_nhais_answer_and_is_audited(client, nhais_ha):
    run = agreeing_shadow_run(nhais_ha.ha)
    leader = UserFactory(roles=["Team leader"])
    client.force_login(leader)
    page = client.get(f"/migration/BE/shadow/{run.pk}/?verdict=disagreed").content.decode()
    assert "person: FREE_TEXT" in page and "PCSE stops on free text" in page and "943 476 5919" in page
    assert "1 decision" in page
    assert AuditEvent.objects.get(action="migration_view_shadow").user == leader
    assert client.get(f"/migration/KC/shadow/{run.pk}/").status_code == 404


def test_a_migration_difference_case_reads_like_any_other(client, nhais_ha):
    prepared(nhais_ha.ha, differ=True)
    case = ExceptionCase.objects.get(kind="MIGRATION_DIFFERENCE")
    assert case.evidence["differences"] == ["Surname differs from PDS"]
    assert case.evidence["extract"]["practice_ods"] == "K81001"
    client.force_login(UserFactory(roles=["Team leader"]))
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert "Migration difference" in page.content.decode()
    readiness = client.get("/migration/BE/").content.decode()
    assert "?kind=MIGRATION_DIFFERENCE" in readiness
    queue = client.get("/cases/?kind=MIGRATION_DIFFERENCE")
    assert queue.status_code == 200 and "NHAIS extract and PDS differ" in queue.content.decode()


def test_administrators_plan_the_date_with_the_nhs_date_input(admin_client, nhais_ha):
    import datetime as dt

    from django.utils import timezone

    assert "Plan the cut-over date" in admin_client.get("/migration/BE/").content.decode()
    past = admin_client.post(
        "/migration/BE/plan/", {"planned_on-day": "1", "planned_on-month": "1", "planned_on-year": "2020"}
    )
    assert "must be today or in the future" in past.content.decode()
    day = timezone.localdate() + dt.timedelta(days=30)
    data = {"planned_on-day": day.day, "planned_on-month": day.month, "planned_on-year": day.year}
    assert admin_client.post("/migration/BE/plan/", data).status_code == 302
    assert CutoverEvent.objects.get(action="PLAN").by == "ada"
    assert AuditEvent.objects.get(action="migration_plan").detail["planned_on"] == day.isoformat()
    page = admin_client.get("/migration/BE/").content.decode()
    assert "Change the planned cut-over date" in page and f"Planned for {day.day} {day:%B %Y}" in page


def test_team_leaders_cannot_plan(client, nhais_ha):
    client.force_login(UserFactory(roles=["Team leader"]))
    assert client.get("/migration/BE/plan/").status_code == 403


def test_cutover_events_cannot_be_rewritten(nhais_ha):
    from django.db import ProgrammingError, transaction

    cutover.plan(nhais_ha.ha, None, by="tester")
    event = CutoverEvent.objects.get()
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        CutoverEvent.objects.filter(pk=event.pk).update(reason="rewritten")


def test_an_ha_cut_over_for_a_later_date_is_not_cut_over_twice(admin_client, nhais_ha):
    import datetime as dt

    from django.utils import timezone

    later = timezone.localdate() + dt.timedelta(days=10)
    HealthAuthority.objects.filter(pk=nhais_ha.ha.pk).update(migrated=True, cutover_date=later)
    assert admin_client.post("/migration/BE/cut-over/", {"reason": "again"}).status_code == 302
    assert not CutoverEvent.objects.exists()
    with pytest.raises(CutoverRefused, match="already cut over"):
        cutover.cut_over(HealthAuthority.objects.get(cipher="BE"), by="tester", override_reason="again")
