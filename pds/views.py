"""Patient lookup for the back office, as NCRS offers it: find, summarise, and show the history.

Every page that shows a patient record writes an audit event (through pds.audit, which the
exceptions app plugs into its audit log). Restricted (S-flagged) details are hidden by the
presenters unless the viewer's role allows them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core import nhs_number as nhs
from core.roles import Perm

from . import audit, history, presenters, selectors, trace
from .errors import PatientNotFound
from .forms import PatientSearchForm

VIEW = Perm.VIEW_PATIENT_RECORD
SENSITIVE = Perm.VIEW_SENSITIVE_RECORD


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def patient_search(request):
    # A search is POSTed: names, birth dates and NHS numbers never appear in a URL (browser history,
    # proxies' logs, the Referer header).
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    context: dict = {"form": form}
    if form.is_bound and form.is_valid():
        number = form.cleaned_data["nhs_number"]
        if number:
            try:
                found = selectors.get_patient(number)
            except PatientNotFound:
                form.add_error("nhs_number", "No patient has this NHS number")
            else:
                if found.superseded_from:
                    messages.info(request, "That NHS number was merged into this record, which is now used instead.")
                return redirect("pds:patient-detail", nhs_number=found.patient.nhs_number)
        else:
            result = trace.trace(form.trace_query(), max_results=20, supplied_only=True)
            patients = selectors.patients_by_pk([c.patient_id for c in result.candidates])
            rows = presenters.result_rows(result, patients, can_see_restricted=request.user.has_perm(SENSITIVE))
            audit.record(
                action=audit.SEARCH_PATIENTS,
                user=request.user,
                object_type="trace",
                detail={"outcome": result.outcome, "results": [c.nhs_number for c in result.candidates]},
            )
            context.update(result=result, rows=rows, outcome_text=presenters.OUTCOME_TEXT[result.outcome])
    return render(request, "pds/patient_search.html", context)


def _find(request, nhs_number: str):
    if not nhs.is_valid(nhs_number):
        return None
    try:
        return selectors.get_patient(nhs_number)
    except PatientNotFound:
        return None


@require_GET
@permission_required(VIEW, raise_exception=True)
def patient_detail(request, nhs_number: str):
    lookup = _find(request, nhs_number)
    if lookup is None:
        return render(request, "pds/patient_not_found.html", {"nhs_number": nhs_number}, status=404)
    if lookup.superseded_from:
        return redirect("pds:patient-detail", nhs_number=lookup.patient.nhs_number)
    patient = selectors.with_superseded_numbers(lookup.patient)
    can_see = request.user.has_perm(SENSITIVE)
    summary = presenters.PatientSummary(patient, can_see_restricted=can_see)
    audit.record(
        action=audit.VIEW_PATIENT,
        user=request.user,
        nhs_number=patient.nhs_number,
        detail={"restricted_shown": patient.sensitive and can_see},
    )
    return render(request, "pds/patient_detail.html", {"summary": summary, "patient": patient})


@require_GET
@permission_required(VIEW, raise_exception=True)
def patient_history(request, nhs_number: str):
    lookup = _find(request, nhs_number)
    if lookup is None:
        return render(request, "pds/patient_not_found.html", {"nhs_number": nhs_number}, status=404)
    if lookup.superseded_from:
        return redirect("pds:patient-history", nhs_number=lookup.patient.nhs_number)
    patient = lookup.patient
    can_see = request.user.has_perm(SENSITIVE)
    entries = history.timeline(patient, show_restricted=can_see)
    audit.record(action=audit.VIEW_HISTORY, user=request.user, nhs_number=patient.nhs_number)
    summary = presenters.PatientSummary(patient, can_see_restricted=can_see)
    return render(request, "pds/patient_history.html", {"summary": summary, "entries": entries})
