"""Case events and audit events are append-only in the database itself: neither a queryset update, a
delete nor raw SQL can rewrite them (triggers from exceptions/migrations/0007_i14_append_only_events)."""

import pytest
from django.db import DatabaseError, connection, transaction
from factories import ExceptionCaseFactory

from exceptions.models import AuditEvent, CaseEvent

pytestmark = pytest.mark.django_db
REFUSED = "Cannot update or delete rows"


@pytest.fixture
def events():
    case = ExceptionCaseFactory()
    event = CaseEvent.objects.create(case=case, system="test", action="NOTE", note="first")
    audit = AuditEvent.objects.create(system="test", action="VIEW", object_type="case", object_id=str(case.pk))
    return event, audit


def refused(operation) -> str:
    with pytest.raises(DatabaseError) as info, transaction.atomic():
        operation()
    return str(info.value)


@pytest.mark.parametrize("model", [CaseEvent, AuditEvent])
def test_updates_and_deletes_are_refused_by_the_database(events, model):
    row = next(e for e in events if isinstance(e, model))
    table = model._meta.db_table
    assert REFUSED in refused(lambda: model.objects.filter(pk=row.pk).update(action="EDITED"))
    assert REFUSED in refused(lambda: model.objects.filter(pk=row.pk).delete())
    with connection.cursor() as cursor:
        assert REFUSED in refused(lambda: cursor.execute(f"UPDATE {table} SET action = 'X' WHERE id = %s", [row.pk]))
        assert REFUSED in refused(lambda: cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk]))
    assert model.objects.get(pk=row.pk).action == row.action  # untouched


def test_appending_still_works_and_the_model_refuses_a_resave(events):
    event, audit = events
    CaseEvent.objects.create(case=event.case, system="test", action="NOTE", note="second")
    assert list(event.case.events.values_list("note", flat=True)) == ["first", "second"]
    event.note = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        audit.save()
