"""History of every change: who, when, why and what, from the pghistory events, as a timeline."""

import datetime as dt

import pytest
from django.db import DatabaseError, transaction
from factories import PatientFactory, UserFactory

from pds import history, services
from pds.models import PatientAddressEvent, PatientEvent

pytestmark = pytest.mark.django_db


def test_every_service_change_is_an_event_tied_to_who_and_why(jane):
    services.register_with_practice(
        jane,
        practice_ods="B82001",
        start=dt.date(2026, 3, 1),
        expected_version=1,
        by="pcrm-processing",
        reason="transaction 7",
    )
    event = PatientEvent.objects.filter(pgh_obj_id=jane.pk, pgh_label="update").get()
    assert event.version == 2
    assert event.pgh_context.metadata == {
        "action": "register_with_practice",
        "by": "pcrm-processing",
        "reason": "transaction 7",
    }


def test_a_person_acting_is_recorded_with_their_user(jane):
    person = UserFactory(username="asha")
    services.record_death(
        jane, date=dt.date(2026, 1, 2), status="informal", expected_version=1, by="asha", reason="case 9", user=person
    )
    context = PatientEvent.objects.filter(pgh_obj_id=jane.pk).latest("pgh_id").pgh_context
    assert context.metadata["user_id"] == person.pk
    assert context.metadata["username"] == "asha"


def test_timeline_shows_who_why_and_what_changed_newest_first(jane):
    services.change_address(
        jane,
        address={"road": "9 Park Lane", "post_town": "Leeds", "postcode": "LS2 7UE"},
        start=dt.date(2026, 2, 1),
        expected_version=1,
        by="pcrm-processing",
        reason="transaction 12",
    )
    services.record_death(
        jane, date=dt.date(2026, 3, 1), status="formal", expected_version=2, by="nbo-user", reason="case 3"
    )
    entries = history.timeline(jane)
    assert [e.action for e in entries] == ["record_death", "change_address", "create_patient"]
    death, move, created = entries
    assert (death.by, death.reason, death.version) == ("nbo-user", "case 3", 3)
    record_change = death.changes[0]
    assert record_change.summary == "Record changed"
    assert {(f.label, f.before, f.after) for f in record_change.fields} == {
        ("Date of death", "", "2026-03-01"),
        ("Death notification", "", "formal"),
    }
    summaries = [c.summary for c in move.changes]
    assert summaries == ["Address changed: 1 HIGH STREET, LS1 4AP", "Address added"]
    ended = move.changes[0]
    assert [(f.label, f.before, f.after) for f in ended.fields] == [("To", "", "2026-02-01")]
    added = {f.label: f.after for f in move.changes[1].fields}
    assert added["Postcode"] == "LS2 7UE"
    assert created.version == 1
    assert {c.subject for c in created.changes} == {"Record", "Name", "Address", "Registered GP"}


def test_restricted_records_hide_address_history_from_those_not_cleared(jane):
    services.update_demographics(jane, sensitive=True, expected_version=1, by="nbo-user", reason="case 5")
    hidden = history.timeline(jane, show_restricted=False)
    address_fields = [f for e in hidden for c in e.changes if c.subject == "Address" for f in c.fields]
    assert address_fields
    assert all(f.after in ("", history.HIDDEN) and f.before in ("", history.HIDDEN) for f in address_fields)
    shown = history.timeline(jane, show_restricted=True)
    assert any(f.after == "LS1 4AP" for e in shown for c in e.changes for f in c.fields)


def test_writes_outside_the_services_are_still_recorded_without_a_who(db):
    patient = PatientFactory()
    entries = history.timeline(patient)
    assert entries
    assert not entries[0].recorded


def test_history_is_append_only(jane):
    event = PatientAddressEvent.objects.filter(pgh_obj__patient=jane).first()
    refused = "Cannot update or delete rows from pds_patientaddressevent table"  # the append-only trigger
    with pytest.raises(DatabaseError, match=refused), transaction.atomic():
        PatientAddressEvent.objects.filter(pk=event.pk).update(postcode="XX1 1XX")
    with pytest.raises(DatabaseError, match=refused), transaction.atomic():
        PatientAddressEvent.objects.filter(pk=event.pk).delete()
    assert PatientAddressEvent.objects.get(pk=event.pk).postcode == event.postcode


def test_a_merge_keeps_the_duplicates_last_state_in_history(jane):
    duplicate = PatientFactory(name="SMYTH JANE")
    services.merge_patients(
        retained=jane, duplicate=duplicate, retained_version=1, duplicate_version=1, by="nbo-user", reason="case 8"
    )
    deleted = PatientEvent.objects.get(pgh_obj_id=duplicate.pk, pgh_label="delete")
    assert deleted.nhs_number == duplicate.nhs_number
    assert deleted.pgh_context.metadata["action"] == "merge_patients"
    entries = history.timeline(jane)
    assert entries[0].action == "merge_patients"
    assert any(
        c.subject == "Superseded NHS number" and c.fields[0].after == duplicate.nhs_number for c in entries[0].changes
    )
