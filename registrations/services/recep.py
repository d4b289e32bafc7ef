"""RECEPs received for interchanges PCRM sent: mark what the partner acknowledged, and report the
ones that never came. PCRM never retransmits by itself: a person asks the partner (GP Links rule)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..mesh import WORKFLOW_REG
from ..models import Direction, Interchange, InterchangeStatus
from ..ports import CaseKind, CaseRequest, open_case


def apply_recep(recep_interchange: Interchange, parsed) -> int:
    """Match a RECEP to the interchange and messages it acknowledges. Returns messages matched.

    The RECEP comes from the partner, so its sender is the recipient of what we sent.
    """
    recep = parsed.recep
    sent = (
        Interchange.objects.select_for_update()
        .filter(
            direction=Direction.OUTBOUND, sender=parsed.recipient, recipient=parsed.sender, sis=recep.interchange_sis
        )
        .first()
    )
    if sent is None:
        recep_interchange.error = f"RECEP for unknown interchange SIS {recep.interchange_sis}"
        return 0
    sent.recep_code = recep.interchange_code
    sent.recep_at = parsed.prepared_at or timezone.now()
    sent.status = InterchangeStatus.ACKNOWLEDGED
    sent.save(update_fields=["recep_code", "recep_at", "status"])
    codes = {m.sms: m.code for m in recep.messages}
    matched = 0
    for message in sent.messages.all():
        if message.sms in codes:
            message.recep_code = codes[message.sms]
            message.save(update_fields=["recep_code"])
            matched += 1
    return matched


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
