"""PCRM's MESH inbox -> one stored Interchange row per message -> acknowledge.

Store before acknowledge: a message is acknowledged to MESH only after its bytes committed, so a
crash anywhere leaves it in the inbox to be fetched again, and the unique MESH id makes that harmless.

No message can hold up another for long. Each one is downloaded, decoded and stored on its own terms:
the raw bytes and every MESH header are kept whatever their length or encoding, and a message that
cannot be stored normally (or decoded) is still stored, QUARANTINED with a case, and acknowledged.
A message that cannot be downloaded stays in the inbox and the poll stops there, so that nothing
delivered after it is stored (and processed) ahead of it (ADR 0015); once it has failed for
MESH_DOWNLOAD_PATIENCE_SECONDS the polls go past it. A poll downloads for MESH_POLL_BUDGET_SECONDS at
most and says whether it left more behind, so a backlog is drained in slices and no poll runs into its
task's time limit.
"""

import gzip
import hashlib
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.locks import advisory_lock

from .. import mesh
from ..models import Direction, Interchange, InterchangeStatus
from ..ports import CaseKind, CaseRequest, open_case
from ..safe_text import fit, pg_json, pg_text

log = logging.getLogger(__name__)

LIST_PAGE = 500
STORE_BATCH = 50
# A message the polls have gone past is tried again after this long (not on every poll).
PASSED_RETRY_SECONDS = 600
# Workflows PCRM reads as GP Links; anything else is stored, acknowledged and shown to a person.
HANDLED_WORKFLOWS = frozenset({mesh.WORKFLOW_REG, mesh.WORKFLOW_RECEP})
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class PollResult:
    stored: list[int] = field(default_factory=list)
    acknowledged: int = 0
    skipped_lock: bool = False
    # MESH ids that could not be downloaded or stored this time: left in the inbox for the next poll.
    left: list[str] = field(default_factory=list)
    # Messages were left in the inbox on purpose (the budget was spent, or the poll stopped at a
    # message it could not download): poll again soon rather than at the next tick.
    more: bool = False
    stopped_at_failure: bool = False


@dataclass(frozen=True)
class Downloaded:
    mesh_message_id: str
    body: bytes  # the payload after decoding (what the sender meant), or the bytes as received
    headers: dict
    problem: str = ""  # why the body could not be decoded: then it is the bytes as transferred

    def header(self, name: str) -> str:
        return str(self.headers.get(name, "") or "")

    @property
    def workflow(self) -> str:
        return self.header("mex-workflowid")

    @property
    def message_type(self) -> str:
        return (self.header("mex-messagetype") or "DATA").upper()

    @property
    def linked_message_id(self) -> str:
        return self.header("mex-linkedmsgid") or self.header("linkedmsgid")


def poll_inbox(
    *,
    on_stored: Callable[[int], None] | None = None,
    before_ack: Callable[[str], None] | None = None,
    on_batch: Callable[[list[Interchange]], None] | None = None,
    budget_seconds: float | None = None,
) -> PollResult:
    """Drain PCRM's MESH inbox, every workflow, for at most `budget_seconds` (MESH_POLL_BUDGET_SECONDS).
    `on_stored` runs after commit for each row to ingest; `on_batch` once per committed batch with
    those rows (so work can start while the poll goes on).

    Messages are stored in small batches, one commit each, then acknowledged; a batch that fails is
    stored again message by message, so only the message at fault is quarantined. `before_ack`
    exists so the crash-between-store-and-acknowledge case can be tested for real.
    """
    result = PollResult()
    budget = settings.MESH_POLL_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    with advisory_lock(f"mesh-poll:{mesh.WORKFLOW_REG}") as got:
        if not got:
            result.skipped_lock = True
            return result
        with mesh.mesh_client() as client:
            while True:
                ids = client.list_messages(max_results=LIST_PAGE)
                acknowledged_before = result.acknowledged
                _poll_page(client, ids, result, deadline, on_stored, before_ack, on_batch)
                if result.more:
                    break
                # A full page may hold only messages left behind: stop rather than list them forever.
                if len(ids) < LIST_PAGE or result.acknowledged == acknowledged_before:
                    break
                if time.monotonic() >= deadline:
                    result.more = True
                    break
    return result


def _poll_page(client, ids: list[str], result: PollResult, deadline: float, on_stored, before_ack, on_batch) -> None:
    # One query per page tells which messages a crashed run already stored.
    stored = set(Interchange.objects.filter(mesh_message_id__in=ids).values_list("mesh_message_id", flat=True))
    for start in range(0, len(ids), STORE_BATCH):
        if start and time.monotonic() >= deadline:
            result.more = True  # the rest stay in the inbox, in order, for the next poll
            return
        chunk, fetched = _fetch(client, ids[start : start + STORE_BATCH], stored, result, deadline)
        rows, failed = _store_batch(fetched)
        result.left.extend(failed)
        for row in rows:
            result.stored.append(row.pk)
            if on_stored and row.status == InterchangeStatus.RECEIVED:
                on_stored(row.pk)
        if on_batch:
            on_batch([row for row in rows if row.status == InterchangeStatus.RECEIVED])
        left = set(result.left)
        for message_id in chunk:
            if message_id in left:
                continue
            if before_ack:
                before_ack(message_id)
            if _acknowledge(client, message_id):
                result.acknowledged += 1
        if result.more:
            return


def _fetch(
    client, chunk: list[str], stored: set[str], result: PollResult, deadline: float
) -> tuple[list[str], list[Downloaded]]:
    """Download the chunk's messages not stored yet; returns the part of the chunk dealt with (cut at a
    message MESH would not give, unless it has had its patience, or where the budget ran out) and what
    was downloaded."""
    fetched = []
    # One round trip for the chunk, not one per message: this is every poll's path.
    passed = cache.get_many([_passed_key(mid) for mid in chunk if mid not in stored])
    for position, mid in enumerate(chunk):
        if fetched and time.monotonic() >= deadline:
            result.more = True  # a slow MESH: the rest of the chunk waits, in order, for the next poll
            return chunk[:position], fetched
        if mid in stored:
            continue
        if _passed_key(mid) in passed:
            result.left.append(mid)  # given up on for now: not fetched again on every poll
            continue
        d = _download(client, mid)
        if d is not None:
            fetched.append(d)
            continue
        result.left.append(mid)
        if not _out_of_patience(mid):
            # Stop here: what MESH delivered after it must not be stored ahead of it.
            result.more = result.stopped_at_failure = True
            return chunk[:position], fetched
        log.error("MESH message %s could not be downloaded for too long; later messages go on without it", mid)
    return chunk, fetched


def _out_of_patience(message_id: str) -> bool:
    """Has this message failed to download for MESH_DOWNLOAD_PATIENCE_SECONDS since its first failure?
    Then the polls go past it, and leave it alone for a while before they try it again."""
    now = time.time()
    cache.add(f"mesh-download-failed:{message_id}", now, timeout=86_400)
    first = cache.get(f"mesh-download-failed:{message_id}", now)
    if now - first < settings.MESH_DOWNLOAD_PATIENCE_SECONDS:
        return False
    cache.set(_passed_key(message_id), 1, timeout=PASSED_RETRY_SECONDS)
    return True


def _passed_key(message_id: str) -> str:
    return f"mesh-download-passed:{message_id}"


def _acknowledge(client, message_id: str) -> bool:
    try:
        client.acknowledge_message(message_id)
        return True
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:  # stored already; the next poll acknowledges it without a second copy
        log.warning("MESH acknowledgement of %s failed (%s); retried next poll", message_id, type(exc).__name__)
        return False


def _download(client, message_id: str) -> Downloaded | None:
    """Fetch every chunk as transferred, then decode per the headers. None when MESH would not give it."""
    try:
        chunks, headers = [], {}
        response = client.retrieve_message_chunk(message_id, 1)
        try:
            headers = {k.lower(): v for k, v in response.headers.items()}
            chunks.append((response.headers.get("Content-Encoding", ""), response.raw.read(decode_content=False)))
        finally:
            response.close()
        _, _, total = (headers.get("mex-chunk-range") or "1:1").partition(":")
        for n in range(2, _chunk_count(total) + 1):
            response = client.retrieve_message_chunk(message_id, n)
            try:
                chunks.append((response.headers.get("Content-Encoding", ""), response.raw.read(decode_content=False)))
            finally:
                response.close()
    except SoftTimeLimitExceeded:
        raise  # the task's time is up: end the poll, not just this download
    except Exception as exc:
        log.warning("MESH download of %s failed (%s); left in the inbox", message_id, type(exc).__name__)
        return None
    return decode_message(message_id, chunks, headers)


def _chunk_count(total: str) -> int:
    try:
        return max(1, min(int(total), 100_000))
    except ValueError:
        return 1


def decode_message(message_id: str, chunks: list[tuple[str, bytes]], headers: dict) -> Downloaded:
    """Undo transfer compression (Content-Encoding, per chunk), then MESH payload compression.

    `Mex-Content-Compressed: Y` says the sender gzipped the payload itself. The sandbox sets it on
    every message it gzips in transit, so it is honoured only when the payload really starts with
    the gzip magic bytes. A body the headers call gzip but that is not becomes a quarantine with
    the bytes as transferred: nothing is guessed.
    """
    transferred = b"".join(data for _, data in chunks)
    parts = []
    for encoding, data in chunks:
        encoding = (encoding or "").strip().lower()
        if encoding in ("", "identity"):
            parts.append(data)
        elif encoding in ("gzip", "x-gzip"):
            try:
                parts.append(gzip.decompress(data))
            except (OSError, EOFError, zlib.error) as exc:
                return Downloaded(message_id, transferred, headers, f"Content-Encoding gzip, but {_gzip_problem(exc)}")
        else:
            return Downloaded(message_id, transferred, headers, f"unsupported Content-Encoding {encoding[:40]!r}")
    body = b"".join(parts)
    compressed = str(headers.get("mex-content-compressed", "")).strip().upper() in ("Y", "TRUE")
    if compressed and body.startswith(GZIP_MAGIC):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            return Downloaded(message_id, transferred, headers, f"Mex-Content-Compressed, but {_gzip_problem(exc)}")
    return Downloaded(message_id, body, headers)


def _gzip_problem(exc: Exception) -> str:
    return f"the body is not valid gzip ({type(exc).__name__})"


def _row_fields(d: Downloaded, status: str, error: str = "") -> dict:
    """Bounded, NUL-free columns for a downloaded message; the full headers go in mesh_headers."""
    return fit(
        Interchange,
        direction=Direction.INBOUND,
        workflow=d.workflow,
        raw=d.body,
        sha256=hashlib.sha256(d.body).hexdigest(),
        mesh_message_id=d.mesh_message_id,
        mesh_headers=pg_json({str(k): str(v) for k, v in d.headers.items()}),
        mesh_sender=d.header("mex-from"),
        mesh_recipient=d.header("mex-to"),
        local_id=d.header("mex-localid"),
        status=status,
        error=error,
        received_at=timezone.now(),
    )


def _plain(d: Downloaded) -> bool:
    return not d.problem and d.message_type != "REPORT" and d.workflow in HANDLED_WORKFLOWS


def _store_batch(fetched: list[Downloaded]) -> tuple[list[Interchange], list[str]]:
    """Store downloaded messages; returns the rows created and the ids that could not be stored."""
    plain = [d for d in fetched if _plain(d)]
    created: list[Interchange] = []
    try:
        with transaction.atomic():
            created = Interchange.objects.bulk_create(
                [Interchange(**_row_fields(d, InterchangeStatus.RECEIVED)) for d in plain]
            )
        rest = [d for d in fetched if not _plain(d)]
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        # One of them would not go in (or someone stored one meanwhile): each on its own terms.
        rest = fetched
    failed = []
    for d in rest:
        row = _store_one(d)
        if row is None:
            failed.append(d.mesh_message_id)
        elif row is not False:
            created.append(row)
    return created, failed


def _store_one(d: Downloaded) -> Interchange | bool | None:
    """The row created; False if it was already stored; None if it could not be written at all."""
    if Interchange.objects.filter(mesh_message_id=d.mesh_message_id).exists():
        return False
    try:
        with transaction.atomic():
            if d.problem:
                return _quarantine(d, d.problem)
            if d.message_type == "REPORT":
                row = Interchange.objects.create(
                    **_row_fields(d, InterchangeStatus.REPORT, f"MESH report on message {d.linked_message_id}")
                )
                _open_report_case(row, d.linked_message_id)
                return row
            if d.workflow not in HANDLED_WORKFLOWS:
                return _unhandled(d)
            return Interchange.objects.create(**_row_fields(d, InterchangeStatus.RECEIVED))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        problem = f"could not be stored normally ({type(exc).__name__})"
    if Interchange.objects.filter(mesh_message_id=d.mesh_message_id).exists():
        return False  # a replay or another poller stored it meanwhile
    try:
        with transaction.atomic():
            return _quarantine(d, problem)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        log.error("MESH message %s could not be stored at all (%s)", d.mesh_message_id, type(exc).__name__)
        return None


def _quarantine(d: Downloaded, problem: str) -> Interchange:
    row = Interchange.objects.create(**_row_fields(d, InterchangeStatus.QUARANTINED, problem))
    open_case(
        CaseRequest(
            kind=CaseKind.QUARANTINED_MESSAGE,
            summary=f"MESH message from {d.header('mex-from') or 'an unknown mailbox'} quarantined: {problem}",
            interchange_id=row.pk,
            evidence={"mesh_message_id": d.mesh_message_id, "problem": problem, "mesh_headers": row.mesh_headers},
            rule_trace=[
                {
                    "check": "store and decode the MESH message",
                    "result": "quarantined",
                    "why": "Its bytes and headers are kept exactly as received and it was acknowledged, so it "
                    "cannot block the mailbox; nothing in it was acted on.",
                }
            ],
        )
    )
    return row


def _unhandled(d: Downloaded) -> Interchange:
    row = Interchange.objects.create(
        **_row_fields(d, InterchangeStatus.UNHANDLED, f"workflow {pg_text(d.workflow, 100)!r} is not GP Links")
    )
    open_case(
        CaseRequest(
            kind=CaseKind.UNKNOWN_WORKFLOW,
            summary=f"Message under workflow {d.workflow or '(none)'} from {d.header('mex-from') or 'unknown'}",
            interchange_id=row.pk,
            evidence={"mesh_message_id": d.mesh_message_id, "workflow": d.workflow, "mesh_headers": row.mesh_headers},
            rule_trace=[
                {
                    "check": "MESH workflow",
                    "result": d.workflow or "(none)",
                    "why": f"PCRM reads only {', '.join(sorted(HANDLED_WORKFLOWS))}; this message was kept and "
                    "acknowledged so it does not wait unseen in the mailbox.",
                }
            ],
        )
    )
    return row


def store_inbound(
    *,
    mesh_message_id: str,
    body: bytes,
    workflow: str,
    message_type: str,
    sender: str,
    recipient: str,
    local_id: str = "",
    linked_message_id: str = "",
    replayed_by: str = "",
) -> tuple[Interchange, bool]:
    """Durably record a message exactly as received (MESH, or a replay by a person). Returns (row, created)."""
    headers = {
        "mex-workflowid": workflow or "",
        "mex-messagetype": message_type or "DATA",
        "mex-from": sender or "",
        "mex-to": recipient or "",
        "mex-localid": local_id or "",
    }
    if linked_message_id:
        headers["mex-linkedmsgid"] = linked_message_id
    d = Downloaded(mesh_message_id, body, headers)
    with transaction.atomic():
        existing = Interchange.objects.filter(mesh_message_id=mesh_message_id).first()
        if existing is not None:
            return existing, False
        row = _store_one(d)
        if replayed_by and isinstance(row, Interchange):
            row.replayed_by = pg_text(replayed_by, 150)
            row.save(update_fields=["replayed_by"])
    if not isinstance(row, Interchange):
        raise RuntimeError(f"MESH message {mesh_message_id} could not be stored")
    return row, True


def _open_report_case(row: Interchange, linked_message_id: str) -> None:
    reported = Interchange.objects.filter(mesh_message_id=linked_message_id).first() if linked_message_id else None
    open_case(
        CaseRequest(
            kind=CaseKind.MESH_REPORT,
            summary=f"MESH could not deliver message {linked_message_id or '(unknown)'}",
            interchange_id=(reported or row).pk,
            evidence={
                "report_interchange": row.pk,
                "linked_message_id": linked_message_id,
                "reported_interchange": reported.pk if reported else None,
            },
            rule_trace=[
                {
                    "check": "MESH message type",
                    "result": "REPORT",
                    "why": "MESH sends a REPORT when a message we sent was not delivered or failed.",
                }
            ],
        )
    )
