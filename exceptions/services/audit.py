"""The audit log: who viewed or changed which case or patient, in what role, and when.

The role is the one the person signed in under: for a CIS2 sign-in its role profile and organisation,
taken from the request being served (accounts.context), so no caller passes them.

Calls sit next to the reads and writes they describe (never in signals), so a reader of a view or a
service sees what it records. A write's audit event is created inside the write's own database
transaction, so a change and its audit entry commit or roll back together.

    audit.record(request.user, audit.VIEW_CASE, case=case)
    audit.record(user, "claim_case", case=case, detail={"from": None})

Events are append-only (AuditEvent refuses updates); background jobs pass `system=` instead of a user.
"""

from typing import Any

from accounts import context as sign_in_context
from core.roles import role_of
from exceptions import actions
from exceptions.models import AuditEvent, ExceptionCase

# What people do, in the words the audit page shows. Services may record other actions: the page shows
# any action code it does not know as it is.
VIEW_CASE = "view_case"
VIEW_PATIENT = "view_patient"
SEARCH_QUEUE = "search_queue"
SEARCH_AUDIT = "search_audit"
EXPORT_AUDIT = "export_audit"
TRACE_PATIENT = "trace_patient"

ACTION_LABELS = {
    VIEW_CASE: "Viewed a case",
    VIEW_PATIENT: "Viewed a patient record",
    SEARCH_QUEUE: "Searched the queue by NHS number or name",
    SEARCH_AUDIT: "Searched the audit log",
    "take_next": "Took the next case",
    "claim_case": "Claimed a case",
    "release_case": "Released a case",
    "assign_case": "Assigned a case",
    "add_note": "Added a note",
    "reprocess": "Reprocessed",
    # Written by pds (through the sink exceptions.apps registers) and by the resolution services.
    "view_patient_history": "Viewed a patient record's history",
    "search_patients": "Searched for patients",
    "api_read_patient": "Read a patient record (FHIR API)",
    "api_search_patients": "Searched for patients (FHIR API)",
    "api_amend_patient": "Amended a patient record (FHIR API)",
    "api_create_patient": "Created a patient record (FHIR API)",
    "fp69_set": "Set an FP69 flag",
    "view_interchange": "Viewed an interchange (its transactions or raw EDIFACT)",
    "search_interchanges": "Searched interchanges by NHS number",
    # Written by accounts (through the sink exceptions.apps registers).
    "sign_in": "Signed in",
    "sign_in_refused": "Sign-in refused: the role gives no access",
    "break_glass_sign_in": "Signed in with a break-glass account",
    "change_role": "Changed role",
    EXPORT_AUDIT: "Exported the audit log (CSV)",
    TRACE_PATIENT: "Ran a PDS trace from a case",
}


def record(
    user=None,
    action: str = "",
    *,
    case: ExceptionCase | None = None,
    nhs_number: str = "",
    object_type: str = "",
    object_id: str | int = "",
    detail: dict[str, Any] | None = None,
    system: str = "",
    role: str | None = None,
) -> AuditEvent:
    """Append one audit event. A case fills in the object and the NHS number unless they are given.

    `role` is the user's role names when the caller already has them (looked up otherwise). This is
    also the sink PDS records its audit through (pds.audit), so there is one writer of AuditEvent.
    """
    if not action:
        raise ValueError("an audit event needs an action")
    authenticated = user is not None and user.is_authenticated
    if not authenticated and not system:
        # MBS ADR-004: an audit entry with neither a person nor a system component explains nothing.
        raise ValueError("an audit event needs a signed-in user or a system component")
    if case is not None:
        object_type = object_type or "case"
        object_id = object_id or case.pk
        nhs_number = nhs_number or case.nhs_number
    sign_in = sign_in_context.for_user(user) if authenticated else None
    if role is None and authenticated:
        role = sign_in.audit_role if sign_in is not None else role_of(user)
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        role=role[:60] if authenticated else "",
        role_profile=sign_in.role_profile_id[:40] if sign_in else "",
        organisation=sign_in.org_code[:20] if sign_in else "",
        system=system,
        action=action[:40],
        nhs_number=nhs_number or "",
        object_type=object_type,
        object_id=str(object_id)[:40],
        detail=detail or {},
    )


def action_label(action: str) -> str:
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    resolution = actions.get(action.removeprefix("case_"))
    if action.startswith("case_") and resolution is not None:
        return f"Case action: {resolution.label}"
    return action.replace("_", " ").capitalize()
