"""Sending a stored snapshot to PCSE over MESH, and noticing when PCSE has acknowledged it.

Two MESH messages on workflow PCRM_CAPITATION: the CSV, then the summary JSON. Each message id is
committed as soon as MESH accepts that file, so a retry after a failure part-way sends only what is
missing. Each file carries a stable local id (the quarter end and the file) by which PCSE can spot a
resend. A send that keeps failing becomes an exception case that people can see and act on.
"""

import datetime as dt
import logging

import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import mesh
from ..models import QuarterClose, QuarterStatus
from ..ports import CaseKind, CaseRequest, open_case
from . import quarters, selectors, snapshot
from .snapshot import csv_filename, summary_filename

log = logging.getLogger(__name__)

# What a MESH send can fail with that is worth trying again: the network or MESH itself. mesh-client's
# own retry re-raises urllib3's errors rather than wrapping them in requests' exceptions.
TRANSPORT_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)
SENDABLE = (QuarterStatus.GENERATED, QuarterStatus.FAILED)
ACKNOWLEDGED = "acknowledged"
UNDELIVERED = ("undeliverable", "error")


def local_id(quarter_end: dt.date, part: str) -> str:
    return f"pcrm-capitation-{quarter_end.isoformat()}-{part}"


def send_to_pcse(quarter_id: int) -> QuarterClose:
    """Send whatever of the quarter's two files MESH has not yet accepted; mark the quarter sent.

    A quarter not ready (still generating) or already sent is returned untouched.
    """
    with transaction.atomic():
        quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
        if quarter.status not in SENDABLE:
            return quarter
        quarter.send_attempts += 1
        quarter.save(update_fields=["send_attempts"])
    parts = (
        ("csv", "csv_message_id", "csv", csv_filename, "text/csv"),
        ("summary", "summary_message_id", "summary", summary_filename, "application/json"),
    )
    with mesh.mesh_client() as client:
        for part, id_field, body_field, filename, content_type in parts:
            with transaction.atomic():
                # The row lock is held across the POST so a second worker cannot send the same file.
                quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
                if getattr(quarter, id_field) or quarter.status not in SENDABLE:
                    continue
                message_id = mesh.send(
                    client,
                    recipient=settings.MESH_PCSE_MAILBOX,
                    body=bytes(getattr(quarter, body_field)),
                    workflow=mesh.WORKFLOW_CAPITATION,
                    local_id=local_id(quarter.quarter_end, part),
                    subject=f"PCRM capitation, {quarters.label(quarter.quarter_end)}",
                    filename=filename(quarter.quarter_end),
                    content_type=content_type,
                )
                setattr(quarter, id_field, message_id)
                quarter.save(update_fields=[id_field])
        _send_other_nations(client, quarter_id)
    with transaction.atomic():
        quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
        if quarter.status in SENDABLE and quarter.csv_message_id and quarter.summary_message_id:
            quarter.status = QuarterStatus.SENT
            quarter.sent_at = timezone.now()
            quarter.last_error = ""
            quarter.failed_at = None
            quarter.save(update_fields=["status", "sent_at", "last_error", "failed_at"])
    return quarter


def _send_other_nations(client, quarter_id: int) -> None:
    """Each other nation's practices go to that nation's payer (CAPITATION_NATION_RECIPIENTS), never to
    PCSE; a nation with no recipient configured is kept and not sent. Each file once, like PCSE's."""
    quarter = QuarterClose.objects.get(pk=quarter_id)
    for nation in selectors.other_nations(quarter):
        recipient = settings.CAPITATION_NATION_RECIPIENTS.get(nation)
        if not recipient:
            continue
        csv_bytes, summary = snapshot.nation_files(quarter, nation)
        files = (
            ("csv", csv_bytes, snapshot.csv_filename, "text/csv"),
            ("summary", summary, snapshot.summary_filename, "application/json"),
        )
        for part, body, filename, content_type in files:
            with transaction.atomic():
                quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
                sent = quarter.nation_deliveries.get(nation, {})
                if sent.get(part):
                    continue
                sent[part] = mesh.send(
                    client,
                    recipient=recipient,
                    body=body,
                    workflow=mesh.WORKFLOW_CAPITATION,
                    local_id=local_id(quarter.quarter_end, f"{snapshot.nation_slug(nation).lstrip('-')}-{part}"),
                    subject=f"PCRM capitation ({nation}), {quarters.label(quarter.quarter_end)}",
                    filename=filename(quarter.quarter_end, nation),
                    content_type=content_type,
                )
                quarter.nation_deliveries = {**quarter.nation_deliveries, nation: sent}
                quarter.save(update_fields=["nation_deliveries"])


@transaction.atomic
def record_failure(quarter_id: int, error: str, *, max_attempts: int) -> bool:
    """Note a failed attempt. After `max_attempts` the quarter is FAILED and a case is opened for
    people (in the same transaction). Returns True when it is worth trying again."""
    quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
    quarter.last_error = error[:2000]
    if quarter.send_attempts < max_attempts:
        quarter.save(update_fields=["last_error"])
        return True
    _fail(quarter, f"could not be sent to PCSE after {quarter.send_attempts} attempts")
    return False


def _fail(quarter: QuarterClose, why: str) -> None:
    """Mark the quarter FAILED and open a case for people, in the caller's transaction."""
    if quarter.status != QuarterStatus.FAILED:
        quarter.status = QuarterStatus.FAILED
        quarter.failed_at = timezone.now()
        open_case(
            CaseRequest(
                kind=CaseKind.MESH_REPORT,
                summary=f"Capitation for the {quarters.label(quarter.quarter_end)} {why}",
                evidence={
                    "quarter_end": quarter.quarter_end.isoformat(),
                    "pcse_mailbox": settings.MESH_PCSE_MAILBOX,
                    "attempts": quarter.send_attempts,
                    "last_error": quarter.last_error,
                    "csv_message_id": quarter.csv_message_id,
                    "summary_message_id": quarter.summary_message_id,
                    "csv_sha256": quarter.csv_sha256,
                },
            )
        )
    quarter.save(update_fields=["last_error", "status", "failed_at"])
    log.warning("capitation for %s %s", quarter.quarter_end, why)


@transaction.atomic
def allow_resend(quarter_id: int) -> QuarterClose:
    """After a failure, let a person send again: the attempt count starts afresh."""
    quarter = QuarterClose.objects.select_for_update().get(pk=quarter_id)
    if quarter.status == QuarterStatus.FAILED:
        quarter.send_attempts = 0
        quarter.save(update_fields=["send_attempts"])
    return quarter


def check_acknowledgements() -> list[int]:
    """Ask MESH's tracking whether PCSE has downloaded and acknowledged both files of sent quarters."""
    pending = list(QuarterClose.objects.filter(status=QuarterStatus.SENT).order_by("quarter_end"))
    done = []
    if not pending:
        return done
    with mesh.mesh_client() as client:
        for quarter in pending:
            statuses = [
                str(client.track_message(message_id).get("status", "")).lower()
                for message_id in (quarter.csv_message_id, quarter.summary_message_id)
            ]
            if all(status == ACKNOWLEDGED for status in statuses):
                updated = QuarterClose.objects.filter(pk=quarter.pk, status=QuarterStatus.SENT).update(
                    status=QuarterStatus.ACKNOWLEDGED, acknowledged_at=timezone.now()
                )
                if updated:
                    done.append(quarter.pk)
            elif any(status in UNDELIVERED for status in statuses):
                with transaction.atomic():
                    quarter = QuarterClose.objects.select_for_update().get(pk=quarter.pk)
                    quarter.last_error = f"MESH tracking: CSV {statuses[0]}, summary {statuses[1]}"
                    _fail(quarter, "was not delivered to PCSE (MESH reports it undeliverable)")
                    # The case keeps the old message ids; a resend must send both files again.
                    quarter.csv_message_id = quarter.summary_message_id = ""
                    quarter.save(update_fields=["csv_message_id", "summary_message_id"])
    return done
