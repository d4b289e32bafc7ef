"""RECEPs received for interchanges PCRM sent: mark what the partner acknowledged, and report the
ones that never came. PCRM never retransmits by itself: a person asks the partner (GP Links rule)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..mesh import WORKFLOW_REG
from ..models import Direction, Interchange, InterchangeStatus, Link, OutboxItem
from ..ports import CaseKind, CaseRequest, close_cases, open_case
from ..safe_text import pg_text

POSITIVE_MESSAGE = "CP"
POSITIVE_INTERCHANGE = "OK"


def apply_recep(recep_interchange: Interchange, parsed, link: Link) -> Interchange | None:
    """Match a RECEP to the interchange and messages it acknowledges, and act on what it says.

    The RECEP comes from the partner, so its sender is the recipient of what we sent. A RECEP for
    nothing we sent, or one that rejects (CA/CI per message, NA/ER for the interchange), opens a
    case; one that answers an interchange reported missing closes that case.
    """
    recep = parsed.recep
    sent = (
        Interchange.objects.select_for_update()
        .filter(
            direction=Direction.OUTBOUND,
            workflow=WORKFLOW_REG,
            link=link,
            sender=parsed.recipient,
            recipient=parsed.sender,
            sis=recep.interchange_sis,
        )
        .order_by("-id")
        .first()
    )
    if sent is None:
        recep_interchange.error = f"RECEP for unknown interchange SIS {recep.interchange_sis}"
        _unmatched(recep_interchange, link, recep)
        return None
    codes = {m.sms: m.code for m in recep.messages}
    rejected = []
    for message in sent.messages.all():
        code = codes.get(message.sms, "")
        if code:
            message.recep_code = pg_text(code, 2)
            message.save(update_fields=["recep_code"])
        if code != POSITIVE_MESSAGE:
            rejected.append((message, code))
    sent.recep_code = pg_text(recep.interchange_code, 2)
    sent.recep_at = parsed.prepared_at or timezone.now()
    negative = recep.interchange_code != POSITIVE_INTERCHANGE or any(code for _, code in rejected)
    sent.status = InterchangeStatus.NEGATIVE if negative else InterchangeStatus.ACKNOWLEDGED
    sent.answered_by = recep_interchange
    sent.save(update_fields=["recep_code", "recep_at", "status", "answered_by"])
    if negative:
        _negative(sent, recep_interchange, link, recep, rejected)
    # Answered at last: the missing-RECEP case (if one was opened) has its answer.
    close_cases(
        CaseKind.MISSING_RECEP,
        interchange_id=sent.pk,
        note=f"RECEP received ({recep.interchange_code}) in interchange {recep_interchange.pk}",
    )
    return sent


def _negative(sent: Interchange, recep_interchange: Interchange, link: Link, recep, rejected) -> None:
    answered = [(m, code) for m, code in rejected if code]
    items = OutboxItem.objects.filter(interchange=sent).select_related("caused_by")
    by_message = [
        {
            "sms": m.sms,
            "type": m.type,
            "code": code,
            "meaning": MESSAGE_CODE_WORDS.get(code, "unknown code"),
            "transactions": [
                {"tn": item.tn, "type": item.tx_type, "caused_by": item.caused_by_id}
                for item in items
                if item.tx_type == m.type
            ],
        }
        for m, code in answered
    ]
    words = INTERCHANGE_CODE_WORDS.get(recep.interchange_code, "unknown code")
    open_case(
        CaseRequest(
            kind=CaseKind.NEGATIVE_RECEP,
            summary=f"{link.practice.link_code} rejected SIS {sent.sis}: {recep.interchange_code} ({words})"
            + (f", {len(answered)} message(s) not accepted" if answered else ""),
            interchange_id=sent.pk,
            practice_ods=link.practice.ods_code,
            ha_cipher=link.ha.cipher,
            evidence={
                "interchange_code": recep.interchange_code,
                "rejected_messages": by_message,
                "recep_interchange": recep_interchange.pk,
            },
            rule_trace=[
                {
                    "check": "RECEP codes",
                    "result": recep.interchange_code,
                    "why": "A partner answers CP/OK when it has translated what PCRM sent. Anything else means "
                    "the listed messages were not taken in: find out why before resending by hand.",
                }
            ],
        )
    )


def _unmatched(recep_interchange: Interchange, link: Link, recep) -> None:
    open_case(
        CaseRequest(
            kind=CaseKind.UNMATCHED_RECEP,
            summary=f"RECEP from {link.practice.link_code} for SIS {recep.interchange_sis}, which PCRM never sent",
            interchange_id=recep_interchange.pk,
            practice_ods=link.practice.ods_code,
            ha_cipher=link.ha.cipher,
            evidence={
                "acknowledged_sis": recep.interchange_sis,
                "interchange_code": recep.interchange_code,
                "messages": [{"sms": m.sms, "code": m.code} for m in recep.messages],
            },
            rule_trace=[
                {
                    "check": "RECEP matched to a sent interchange",
                    "result": "no match",
                    "why": "No registration interchange PCRM sent on this link has that SIS: the partner's "
                    "numbering, or its copy of what PCRM sent, needs checking.",
                }
            ],
        )
    )


# Protocol section 3.7.
MESSAGE_CODE_WORDS = {"CP": "translated", "CA": "translation error", "CI": "translation incomplete (fatal)"}
INTERCHANGE_CODE_WORDS = {"OK": "received", "NA": "no valid data", "ER": "valid, with invalid data"}


@transaction.atomic
def report_missing_receps(*, now: dt.datetime, after: dt.timedelta) -> list[int]:
    """Open one case per sent registration interchange still without a RECEP after `after`."""
    overdue = list(
        Interchange.objects.select_for_update(skip_locked=True)
        .filter(
            direction=Direction.OUTBOUND,
            workflow=WORKFLOW_REG,
            status=InterchangeStatus.SENT,
            sent_at__lt=now - after,
            recep_overdue_at__isnull=True,
        )
        .exclude(link__isnull=True)
        .select_related("link__practice", "link__ha")
    )
    for ic in overdue:
        hours = int((now - ic.sent_at).total_seconds() // 3600)
        open_case(
            CaseRequest(
                kind=CaseKind.MISSING_RECEP,
                summary=f"No RECEP from {ic.recipient} for SIS {ic.sis} after {hours} hours",
                interchange_id=ic.pk,
                practice_ods=ic.link.practice.ods_code,
                ha_cipher=ic.link.ha.cipher,
                evidence={
                    "sis": ic.sis,
                    "sent_at": ic.sent_at.isoformat(),
                    "mesh_message_id": ic.mesh_message_id,
                    "messages": list(ic.messages.values_list("sms", "type")),
                },
                rule_trace=[
                    {
                        "check": "RECEP received",
                        "result": "no",
                        "why": "A sent interchange without a RECEP must be assumed unprocessed. PCRM never "
                        "retransmits automatically: confirm with the practice, then resend by hand.",
                    }
                ],
            )
        )
        ic.recep_overdue_at = now
        ic.save(update_fields=["recep_overdue_at"])
    return [ic.pk for ic in overdue]
