"""The port through which PDS records who viewed or changed a patient record, without importing `exceptions`.

The audit log (AuditEvent) lives in the exceptions app, which plugs its writer in at start-up
(ExceptionsConfig.ready), so the dependency stays exceptions -> pds. Pages and API views call
`record(...)`; with no sink plugged in it refuses loudly, because an unaudited view of a patient
record must not happen silently.
"""

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

AuditSink = Callable[..., Any]
_sink: AuditSink | None = None

VIEW_PATIENT = "view_patient"
VIEW_HISTORY = "view_patient_history"
SEARCH_PATIENTS = "search_patients"
API_READ = "api_read_patient"
API_SEARCH = "api_search_patients"
API_AMEND = "api_amend_patient"
API_CREATE = "api_create_patient"


def register_audit_sink(sink: AuditSink) -> None:
    global _sink
    _sink = sink


def record(
    *,
    action: str,
    user=None,
    system: str = "",
    nhs_number: str = "",
    object_type: str = "patient",
    object_id: str = "",
    detail: dict[str, Any] | None = None,
    role: str | None = None,
    wait_for_disk: bool = True,
) -> Any:
    """Append one audit event: `user` (or a `system` component) did `action` to the record.

    `role` is the user's role names when the caller already has them (the sink looks them up otherwise).
    `wait_for_disk=False` commits the event without waiting for the WAL flush (PostgreSQL's
    synchronous_commit off, for this transaction only). The FHIR API uses it for reads and searches,
    where the flush was half the time of a read: the event is still written and can never be
    corrupted, but a database crash in the following fraction of a second could lose it. Changes to
    records are always audited with a full flush.
    """
    if _sink is None:
        raise RuntimeError("No audit sink registered: is the 'exceptions' app installed?")
    if user is None and not system:
        raise ValueError("an audit event names a user or a system component")
    if not wait_for_disk:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            return _write(action, user, system, nhs_number, object_type, object_id, detail, role)
    return _write(action, user, system, nhs_number, object_type, object_id, detail, role)


def _write(action, user, system, nhs_number, object_type, object_id, detail, role) -> Any:
    return _sink(
        action=action,
        user=user,
        system=system,
        nhs_number=nhs_number,
        object_type=object_type,
        object_id=object_id or nhs_number,
        detail=detail or {},
        role=role,
    )
