"""#16 item 7 for cases about a whole interchange (no transaction; ux-home): reprocessing one that still
fails keeps the case, with a new event and the new result, its assignee, notes and SLA clock."""

import pytest
from factories import InterchangeFactory

from exceptions.models import CaseEvent, ExceptionCase
from exceptions.selectors.casework import STILL_NEEDS_A_PERSON
from exceptions.services import queue, resolution
from registrations.models import InterchangeStatus
from registrations.services import inbound

pytestmark = pytest.mark.django_db


def unreadable_interchange_case() -> ExceptionCase:
    ic = InterchangeFactory(raw=b"this is not EDIFACT", status=InterchangeStatus.RECEIVED)
    assert inbound.ingest_interchange(ic.pk).status == InterchangeStatus.INVALID
    return ExceptionCase.objects.get(interchange=ic, kind="INVALID_INTERCHANGE")


def test_reprocessing_an_interchange_that_still_fails_keeps_its_case(agent):
    case = unreadable_interchange_case()
    queue.claim(case.pk, by=agent)
    queue.add_note(case.pk, by=agent, note="Asked the practice to resend")
    due = case.due_at

    result = resolution.reprocess(case, by=agent, reason_code="TRANSIENT_CLEARED")

    case.refresh_from_db()
    # The same case, still open and still the agent's, on the same SLA clock; no second case in the queue.
    assert (case.status, case.assigned_to, case.due_at) == ("IN_PROGRESS", agent, due)
    assert ExceptionCase.objects.filter(interchange_id=case.interchange_id).count() == 1
    assert result.summary.startswith("Reprocessed: still needs a person: Interchange could not be read")
    # Its story: the note stays, processing's new result, then the person's reprocess.
    actions = list(CaseEvent.objects.filter(case=case).order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["note", STILL_NEEDS_A_PERSON, "reprocess"]
    assert case.interchange.status == InterchangeStatus.INVALID


def test_only_the_first_case_the_interchange_raises_again_continues_it(agent):
    """A second problem found in the same interchange is a case of its own, not folded into this one."""
    from exceptions.services.cases import continuing, open_case
    from registrations.ports import CaseKind, CaseRequest

    case = unreadable_interchange_case()
    ic = case.interchange_id
    with continuing(case) as continuation:
        first = open_case(CaseRequest(kind=CaseKind.INVALID_INTERCHANGE, summary="again", interchange_id=ic))
        second = open_case(CaseRequest(kind=CaseKind.REUSED_NUMBER, summary="SIS reused", interchange_id=ic))
    assert continuation.carried_on
    assert first.pk == case.pk
    assert second.pk != case.pk
    # Outside a reprocess, an interchange's new problem is always a new case.
    third = open_case(CaseRequest(kind=CaseKind.INVALID_INTERCHANGE, summary="later", interchange_id=ic))
    assert third.pk not in (case.pk, second.pk)
