"""RECEPs received for interchanges PCRM sent: mark what the partner acknowledged."""

from django.utils import timezone

from ..models import Direction, Interchange, InterchangeStatus


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
