"""The case page and what people do from it: claim, release, assign, notes and the resolution actions.

Every view loads the case by id and checks, for this user and this case, what they may do: viewing
needs `exceptions.view_queue` (every view is audited); acting needs the case to be theirs. The
actions are declared in exceptions.actions and carried out by exceptions.services.resolution; who holds a
case is exceptions.services.queue's; these views only translate between HTTP and those services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import Perm
from exceptions import actions, kinds, presenters, sla
from exceptions.forms import ActionForm, AssignForm, NoteForm
from exceptions.models import OPEN_STATUSES, ExceptionCase
from exceptions.selectors import cases, casework, evidence
from exceptions.services import audit, preferences, queue, tracing
from exceptions.services.resolution import ResolutionError
from exceptions.views import queue as queue_views
from exceptions.views.queue import queue_url
from pds.templatetags.patients import patient_href


def _case(pk: int) -> ExceptionCase:
    return get_object_or_404(cases.cases_for_page(), pk=pk)


def _kind(case: ExceptionCase):
    try:
        return kinds.info(case.kind)
    except (KeyError, ValueError):
        return None


def _detail_context(request, case: ExceptionCase, **extra) -> dict:
    user = request.user
    show_address = user.has_perm(Perm.VIEW_SENSITIVE_RECORD)
    patient = casework.pds_patient(case, compare=request.GET.get("compare"))
    data = casework.transaction_data(case)
    now = timezone.now()
    is_open = case.status in OPEN_STATUSES
    can_act = cases.can_act_on(user, case)
    compare = casework.compare(data, patient, show_address=show_address)
    message_rows, pds_rows = casework.sides(compare)
    _link_numbers(user, message_rows, data.get("nhs_number"))
    _link_numbers(user, pds_rows, patient.nhs_number if patient else "")
    offered = []
    if can_act:
        for code in actions.available(case):
            action = actions.ACTIONS[code]
            offered.append(
                {
                    "code": code,
                    "label": action.label,
                    "description": action.description,
                    "href": reverse("exceptions:case-action", args=[case.pk, code]),
                }
            )
    return {
        "case": case,
        "kind": _kind(case),
        "kind_tag": presenters.kind_tag(case.kind),
        "status_tag": presenters.case_status_tag(case.status),
        "sla_tag": presenters.sla_tag(sla.sla_state(case.due_at, sla.sla_cutoffs(now))) if is_open else None,
        "age_days": sla.working_days_since(timezone.localtime(case.opened_at).date(), timezone.localtime(now).date()),
        "escalated": is_open and case.assigned_to_id is None and case.status == "IN_PROGRESS",
        "patient": patient,
        "message_rows": message_rows,
        "pds_rows": pds_rows,
        "differences": sum(1 for r in compare if r.differs),
        "candidates": casework.candidates(case, show_address=show_address),
        "compared": patient.nhs_number if patient else "",
        "choose_url": next((a["href"] for a in offered if a["code"] == "apply_with_patient"), None),
        "trace": casework.rule_trace(case),
        "superseded": casework.superseded(case),
        "has_message": bool(data),
        "request_rows": evidence.request_rows(data),
        "problems": evidence.problems(data),
        "report_rows": [] if data else evidence.report_rows(case),
        "interchange_rows": [] if data else evidence.interchange_rows(case.interchange),
        "interchange_href": _interchange_href(user, case),
        **_history(user, case, patient, show_address),
        "can_trace": is_open and bool(data) and user.has_perm(Perm.VIEW_PATIENT_RECORD),
        "last_trace": casework.last_trace(case),
        "timeline": casework.timeline(case),
        "edifact": casework.edifact_page(case, show_restricted=show_address, page=request.GET.get("page")),
        "transaction": case.transaction,
        "actions": offered,
        "can_act": can_act,
        "can_claim": is_open and case.assigned_to_id is None and user.has_perm(cases.WORK),
        "can_release": cases.can_release(user, case),
        "can_assign": is_open and user.has_perm(cases.ASSIGN),
        "can_note": user.has_perm(cases.WORK),
        "can_work": user.has_perm(cases.WORK),
        "assign_form": extra.pop("assign_form", None) or AssignForm(case=case),
        "note_form": extra.pop("note_form", None) or NoteForm(),
        "back_url": queue_url(request),
        **extra,
    }


def _link_numbers(user, rows: list[dict], number: str | None) -> None:
    """The NHS number row of a side of the comparison links to the patient's record (an audited view)."""
    href = patient_href(user, number)
    for row in rows:
        if row["key"] == "NHS number" and href:
            row.update(href=href, action="View record")


def _interchange_href(user, case: ExceptionCase) -> str:
    if not case.interchange_id or not user.has_perm(Perm.VIEW_PIPELINE):
        return ""
    return reverse("registrations:interchange-detail", args=[case.interchange_id])


def _history(user, case: ExceptionCase, patient, show_address: bool) -> dict:
    """The patient's registration history: PCRM's list entries and PDS's registered-GP periods, both of
    which say where a restricted patient lives, so shown as restricted to a role that may not see that."""
    numbers = [case.nhs_number, patient.nhs_number if patient else "", casework.superseded(case)]
    restricted = bool(patient and patient.sensitive and not show_address)
    return {
        "history_restricted": restricted,
        "registrations": [] if restricted else evidence.registrations(numbers),
        "gp_periods": [] if restricted else evidence.gp_periods(patient),
        "patient_href": patient_href(user, patient.nhs_number if patient else ""),
    }


@require_GET
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def case_detail(request, pk: int):
    case = _case(pk)
    context = _detail_context(request, case)
    audit.record(request.user, audit.VIEW_CASE, case=case)
    # The page also shows other patients' PDS details (the compared record, the trace candidates):
    # each is a view of that patient's record, and is recorded as one.
    shown = [context["patient"].nhs_number] if context["patient"] else []
    shown += [c.nhs_number for c in context["candidates"] if c.on_pds]
    for nhs_number in dict.fromkeys(n for n in shown if n and n != case.nhs_number):
        audit.record(request.user, audit.VIEW_PATIENT, nhs_number=nhs_number, detail={"case": case.pk})
    return render(request, "exceptions/case_detail.html", context)


def _move(request, pk: int, move, success: str):
    try:
        move()
    except queue.QueueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("exceptions:case-detail", pk=pk)


@require_POST
@permission_required(Perm.RESOLVE_CASE, raise_exception=True)
def claim(request, pk: int):
    get_object_or_404(ExceptionCase, pk=pk)
    return _move(request, pk, lambda: queue.claim(pk, by=request.user), f"Case {pk} is now yours.")


@require_POST
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def release(request, pk: int):
    get_object_or_404(ExceptionCase, pk=pk)
    return _move(request, pk, lambda: queue.release(pk, by=request.user), f"Case {pk} released to the queue.")


@require_POST
@permission_required(Perm.ASSIGN_CASE, raise_exception=True)
def assign(request, pk: int):
    case = _case(pk)
    form = AssignForm(request.POST, case=case)
    if not form.is_valid():
        return render(
            request, "exceptions/case_detail.html", _detail_context(request, case, assign_form=form), status=400
        )
    to = form.cleaned_data["assignee"]
    name = to.get_full_name() or to.get_username()
    return _move(request, pk, lambda: queue.assign(pk, to=to, by=request.user), f"Case {pk} assigned to {name}.")


@require_POST
@permission_required(Perm.RESOLVE_CASE, raise_exception=True)
def add_note(request, pk: int):
    case = _case(pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render(
            request, "exceptions/case_detail.html", _detail_context(request, case, note_form=form), status=400
        )
    return _move(
        request, pk, lambda: queue.add_note(pk, by=request.user, note=form.cleaned_data["note"]), "Note added."
    )


@require_POST
@permission_required(Perm.VIEW_PATIENT_RECORD, raise_exception=True)
def trace(request, pk: int):
    """Run a PDS trace on the message's details now; its candidates join the case's (the page audits them)."""
    case = _case(pk)
    if not request.user.has_perm(Perm.VIEW_QUEUE):
        raise PermissionDenied("Your role cannot open cases")
    try:
        traced = tracing.trace_from_case(case, by=request.user)
    except tracing.TraceRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{traced.summary}. The records found are under Candidates.")
    return redirect(reverse("exceptions:case-detail", args=[pk]) + "#candidates")


@require_http_methods(["GET", "POST"])
@permission_required(Perm.RESOLVE_CASE, raise_exception=True)
def case_action(request, pk: int, action: str):
    """One resolution action: its form, then (for destructive ones) a confirmation page, then the service."""
    case = _case(pk)
    info = actions.get(action)
    if info is None or action not in actions.available(case):
        raise Http404("That action is not available for this case")
    if not request.user.has_perm(info.permission):
        raise PermissionDenied(f"Your role cannot {info.label.lower()}")
    if not cases.can_act_on(request.user, case):
        # Often the case moved on while the form was open: say who holds it now (the 403 page shows this).
        holder = case.assigned_to
        if holder is not None and holder.pk != request.user.pk:
            name = holder.get_full_name() or holder.get_username()
            return render(request, "exceptions/case_taken.html", {"case": case, "holder": name}, status=403)
        raise PermissionDenied("Only the person the case is assigned to can act on it: claim it first")
    show_address = request.user.has_perm(Perm.VIEW_SENSITIVE_RECORD)
    compare = request.GET.get("patient")
    patient = casework.pds_patient(case, compare=compare)
    candidates = casework.candidates(case, show_address=show_address)
    own = casework.pds_patient(case)
    form = ActionForm(
        request.POST or _answers_shown(request, case, action),
        case=case,
        action=action,
        candidates=candidates,
        pds_number=own.nhs_number if own and own.nhs_number == case.nhs_number else "",
        initial={"patient": patient.nhs_number} if patient and compare else None,
        next_after=preferences.next_after_resolving(request.user),
    )
    context = {
        "case": case,
        "form": form,
        "action": action,
        "info": info,
        "kind_tag": presenters.kind_tag(case.kind),
        "compare": casework.compare(casework.transaction_data(case), patient, show_address=show_address),
    }
    # "Back" from the confirmation page posts the answers again with change=yes: the form, filled in.
    if request.method == "POST" and form.is_valid() and not request.POST.get("change"):
        if form.destructive and request.POST.get("confirmed") != "yes":
            _keep_answers_shown(request, case, action)
            return render(request, "exceptions/case_action_confirm.html", {**context, "chosen": form.chosen()})
        try:
            result = info.service(case, by=request.user, **form.service_kwargs())
        except ResolutionError as exc:
            form.add_error(None, _sentence(str(exc)))
        else:
            request.session.pop(ANSWERS_KEY, None)
            messages.success(request, _sentence(result.summary))
            return _after(request, form, case)
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "exceptions/case_action.html", context, status=status)


# The answers on the check-your-answers page last shown, so the browser's Back (which asks for the form
# again: pages are no-store) finds them in the form, as the page's own Back button does (ADR 0020).
ANSWERS_KEY = "pcrm_answers_shown"
_NOT_ANSWERS = {"csrfmiddlewaretoken", "confirmed", "change"}


def _keep_answers_shown(request, case: ExceptionCase, action: str) -> None:
    answers = {name: request.POST.getlist(name) for name in request.POST if name not in _NOT_ANSWERS}
    request.session[ANSWERS_KEY] = {"case": case.pk, "action": action, "answers": answers}


def _answers_shown(request, case: ExceptionCase, action: str) -> QueryDict | None:
    kept = request.session.get(ANSWERS_KEY) or {}
    if request.method != "GET" or kept.get("case") != case.pk or kept.get("action") != action:
        return None
    data = QueryDict(mutable=True)
    for name, values in kept.get("answers", {}).items():
        data.setlist(name, values)
    return data


def _after(request, form: ActionForm, case: ExceptionCase):
    """Where a person goes once an action is done: their next case if they chose it (remembered as their
    preference; "Take next" within the queue view they last used), else back to this case."""
    wanted = form.then_next
    if wanted is not None and wanted != preferences.next_after_resolving(request.user):
        preferences.set_next_after_resolving(request.user, wanted)
    if wanted:
        return queue_views.take_next(request)
    return redirect("exceptions:case-detail", pk=case.pk)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else text
