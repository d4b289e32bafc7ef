"""The work queue's moves, which hand a case to
exactly one person — take next, claim, release, assign — each an atomic write with a CaseEvent and an
audit event in the same database transaction.

Never the same case to two people: "take next" locks the row it hands out with
`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent callers each get a different case, and every other
move locks the case row and re-reads who holds it before changing anything.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from exceptions import actions
from exceptions.models import OPEN_STATUSES, CaseEvent, CaseStatus, ExceptionCase, SavedFilter
from exceptions.selectors.cases import ASSIGN, WORK
from exceptions.services import audit, resolution


class QueueError(Exception):
    """A move that cannot be made now; the message is written for the person who tried it."""


class NotAllowed(QueueError):
    pass


class AlreadyAssigned(QueueError):
    pass


class CaseClosed(QueueError):
    pass


# --- writes ------------------------------------------------------------------------------------------


def _require(user, perm: str, what: str) -> None:
    if not user.has_perm(perm):
        raise NotAllowed(f"You are not allowed to {what}.")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _event(case: ExceptionCase, by, action: str, *, note: str = "", detail: dict | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, user=by, action=action, note=note, detail=detail or {})


def _lock(case_id: int) -> ExceptionCase:
    try:
        return ExceptionCase.objects.select_for_update().defer("evidence", "rule_trace").get(pk=case_id)
    except ExceptionCase.DoesNotExist:
        raise QueueError(f"Case {case_id} does not exist.") from None


def _hand_to(case: ExceptionCase, user) -> None:
    case.assigned_to = user
    case.status = CaseStatus.IN_PROGRESS if user is not None else CaseStatus.OPEN
    case.save(update_fields=["assigned_to", "status"])


def take_next(*, by, among: QuerySet | None = None) -> ExceptionCase | None:
    """Claim the most urgent unassigned open case for `by`, or None when there is nothing to take.

    `among` (cases narrowed by the queue's filters) keeps "Take next" within what the person is looking
    at: the next case of that kind, that practice. Rows another transaction has locked are skipped, not
    waited for, so twenty people pressing "Take next" at once get twenty different cases and nobody
    waits on anybody.
    """
    _require(by, WORK, "work cases")
    # An escalated case stays in progress with nobody holding it, for a team leader to pick up; agents
    # take only cases nobody has started.
    statuses = OPEN_STATUSES if by.has_perm(ASSIGN) else (CaseStatus.OPEN,)
    with transaction.atomic():
        candidates = ExceptionCase.objects.all() if among is None else among.order_by()
        case = (
            candidates.select_for_update(skip_locked=True, of=("self",))
            .defer("evidence", "rule_trace")
            .filter(status__in=statuses)
            .unassigned()
            # The most urgent first (earliest SLA deadline), then the oldest.
            .oldest_first()
            .first()
        )
        if case is None:
            return None
        _hand_to(case, by)
        _event(case, by, "claimed", detail={"via": "take next"})
        audit.record(by, "take_next", case=case)
    return case


@transaction.atomic
def claim(case_id: int, *, by) -> ExceptionCase:
    _require(by, WORK, "work cases")
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id == by.pk:
        return case
    if case.assigned_to_id is not None:
        raise AlreadyAssigned(f"Case {case.pk} is already assigned to {_name(case.assigned_to)}.")
    _hand_to(case, by)
    _event(case, by, "claimed")
    audit.record(by, "claim_case", case=case)
    return case


@transaction.atomic
def release(case_id: int, *, by, note: str = "") -> ExceptionCase:
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id is None:
        return case
    if case.assigned_to_id != by.pk and not by.has_perm(ASSIGN):
        holder = _name(case.assigned_to)
        raise NotAllowed(f"Case {case.pk} is assigned to {holder}; only they or a team leader can release it.")
    previous = case.assigned_to
    _hand_to(case, None)
    _event(case, by, "released", note=note, detail={"from": previous.get_username()})
    audit.record(by, "release_case", case=case, detail={"from": previous.get_username()})
    return case


@transaction.atomic
def assign(case_id: int, *, to, by, note: str = "") -> ExceptionCase:
    """Give a case to a colleague (team leaders), or to oneself; reassigning from someone else is a leader's call."""
    if to.pk == by.pk and not by.has_perm(ASSIGN):
        return claim(case_id, by=by)
    _require(by, ASSIGN, "assign cases to colleagues")
    if not (to.is_active and to.has_perm(WORK)):
        raise NotAllowed(f"{_name(to)} cannot work cases.")
    case = _lock(case_id)
    if case.status not in OPEN_STATUSES:
        raise CaseClosed(f"Case {case.pk} is already {case.get_status_display().lower()}.")
    if case.assigned_to_id == to.pk:
        return case
    previous = case.assigned_to.get_username() if case.assigned_to_id else None
    _hand_to(case, to)
    detail = {"to": to.get_username(), "from": previous}
    _event(case, by, "assigned", note=note, detail=detail)
    audit.record(by, "assign_case", case=case, detail=detail)
    return case


@transaction.atomic
def add_note(case_id: int, *, by, note: str) -> CaseEvent:
    _require(by, WORK, "add notes to cases")
    note = note.strip()
    if not note:
        raise QueueError("Enter a note.")
    case = ExceptionCase.objects.defer("evidence", "rule_trace").get(pk=case_id)
    event = _event(case, by, "note", note=note)
    audit.record(by, "add_note", case=case)
    return event


# --- several cases at once: assign, claim, release and reprocess only (never a merge or a rejection) --


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _each(case_ids: Iterable[int], move) -> BulkResult:
    result = BulkResult()
    for case_id in sorted(set(case_ids)):
        try:
            move(case_id)
        except QueueError as exc:
            result.skipped.append((case_id, str(exc)))
        else:
            result.done.append(case_id)
    return result


def bulk_assign(case_ids: Iterable[int], *, to, by) -> BulkResult:
    _require(by, ASSIGN, "assign cases to colleagues")
    return _each(case_ids, lambda case_id: assign(case_id, to=to, by=by))


def bulk_claim(case_ids: Iterable[int], *, by) -> BulkResult:
    _require(by, WORK, "work cases")
    return _each(case_ids, lambda case_id: claim(case_id, by=by))


def bulk_release(case_ids: Iterable[int], *, by) -> BulkResult:
    return _each(case_ids, lambda case_id: release(case_id, by=by))


def bulk_reprocess(case_ids: Iterable[int], *, by, reason_code: str, note: str = "") -> BulkResult:
    """Reprocess each case through exceptions.services.resolution.reprocess (after reference data or PDS was fixed).

    Only cases that are unassigned or the user's own: a case someone else holds is theirs to decide.
    """
    _require(by, WORK, "work cases")

    def move(case_id: int) -> None:
        case = ExceptionCase.objects.filter(pk=case_id).first()
        if case is None:
            raise QueueError(f"Case {case_id} does not exist.")
        if case.assigned_to_id not in (None, by.pk):
            raise AlreadyAssigned(f"Case {case.pk} is assigned to {_name(case.assigned_to)}.")
        if "reprocess" not in actions.available(case):
            raise NotAllowed(f"Case {case.pk} cannot be reprocessed.")
        try:
            resolution.reprocess(case, by=by, reason_code=reason_code, note=note)
        except resolution.ResolutionError as exc:
            raise QueueError(str(exc)) from exc

    return _each(case_ids, move)


# --- saved filters: a person's own named views of the queue --------------------------------------------


def save_filter(*, by, name: str, query: str) -> "SavedFilter":
    """Save (or replace, under the same name) the queue page `query` as one of `by`'s saved filters."""
    name = name.strip()
    if not name:
        raise QueueError("Enter a name for these filters.")
    saved, _ = SavedFilter.objects.update_or_create(user=by, name=name, defaults={"query": query})
    return saved


def delete_filter(*, by, pk: int) -> None:
    """Remove one of `by`'s saved filters; someone else's is never touched."""
    SavedFilter.objects.filter(user=by, pk=pk).delete()
