"""A partner's SIS and SMS numbers: gaps (lost interchanges or messages), wrap-around and re-seeding.

Numbers run 1..99,999,999 and wrap to 1 (protocol 1.5), so "after" is measured forwards round that
ring, never with max(). A number at most SEQUENCE_WINDOW ahead of the last is the next one, and the
numbers in between are suspected missing; one at most SEQUENCE_WINDOW behind is a late or repeated
arrival; anything else is a jump (a re-seeded counter, or a number sent in error): reported at once,
and numbering continues from it. Memory is bounded: at most MAX_LISTED numbers are ever listed.

RECEP interchanges count too: GP systems draw them from the same SIS/SMS counters as registrations.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from ..models import Direction, Interchange, Link, Message
from ..ports import CaseKind, CaseRequest, open_case

MAX_SEQUENCE = 99_999_999
MAX_LISTED = 50


def distance(last: int, number: int) -> int:
    """How far `number` is after `last`, going forwards round the ring 1..MAX_SEQUENCE (0 = same)."""
    return (number - last) % MAX_SEQUENCE


@dataclass
class Counter:
    """One counter's state while an interchange's numbers are read in order."""

    last: int
    missing: list[int] = field(default_factory=list)
    missing_count: int = 0
    jumps: list[tuple[int, int]] = field(default_factory=list)

    def see(self, number: int) -> None:
        window = settings.SEQUENCE_WINDOW
        if not 1 <= number <= MAX_SEQUENCE:
            self.jumps.append((self.last, number))  # cannot be a real number: never becomes the base
            return
        if self.last == 0:  # nothing seen yet on this link: the first number is the base
            self.last = number
            return
        d = distance(self.last, number)
        if d == 0 or d >= MAX_SEQUENCE - window:
            return  # the same number again, or a late arrival filling an earlier gap
        if d > window:
            self.jumps.append((self.last, number))
        else:
            self.missing_count += d - 1
            room = MAX_LISTED - len(self.missing)
            self.missing.extend((self.last + k - 1) % MAX_SEQUENCE + 1 for k in range(1, min(d, room + 1)))
        self.last = number


def check(ic: Interchange, link: Link, sis: int, sms_numbers: list[int]) -> dict | None:
    """Move the link's received counters on for one interchange; returns a suspected gap, if any.

    Jumps are reported straight away; missing numbers only later, by `confirm_gap`, because MESH does
    not promise order and they may still be on their way.
    """
    sis_counter = Counter(link.last_sis_received)
    sis_counter.see(sis)
    sms_counter = Counter(link.last_sms_received)
    for number in sms_numbers:
        sms_counter.see(number)
    link.last_sis_received = sis_counter.last
    link.last_sms_received = sms_counter.last
    link.save(update_fields=["last_sis_received", "last_sms_received", "updated_at"])
    for name, counter in (("SIS", sis_counter), ("SMS", sms_counter)):
        for before, after in counter.jumps:
            _report_jump(ic, link, name, before, after)
    if not (sis_counter.missing or sms_counter.missing):
        return None
    return {
        "link_id": link.pk,
        "interchange_id": ic.pk,
        "sis": sis_counter.missing,
        "sms": sms_counter.missing,
        "sis_missing": sis_counter.missing_count,
        "sms_missing": sms_counter.missing_count,
    }


def _report_jump(ic: Interchange, link: Link, name: str, before: int, after: int) -> None:
    open_case(
        CaseRequest(
            kind=CaseKind.SEQUENCE_GAP,
            summary=f"{link.practice.link_code} {name} numbering jumped from {before} to {after}",
            interchange_id=ic.pk,
            practice_ods=link.practice.ods_code,
            ha_cipher=link.ha.cipher,
            evidence={"counter": name, "last_received": before, "received": after, "link": str(link)},
            rule_trace=[
                {
                    "check": f"incoming {name} numbers",
                    "result": "jump",
                    "why": "Far more than the window ahead of (or behind) the last number: the partner's counter "
                    "was re-seeded or a number was sent in error. Numbering continues from the new number; "
                    "check with the practice that nothing was lost.",
                }
            ],
        )
    )


@transaction.atomic
def confirm_gap(
    *, link_id: int, interchange_id: int, sis: list[int], sms: list[int], sis_missing: int = 0, sms_missing: int = 0
) -> bool:
    """Open a sequence-gap case for numbers that still have not arrived. Returns whether it did."""
    link = Link.objects.select_related("practice", "ha").get(pk=link_id)
    received = Interchange.objects.filter(
        direction=Direction.INBOUND, sender=link.practice.link_code, recipient=link.ha.link_code
    )
    still_sis = sorted(set(sis) - set(received.filter(sis__in=sis).values_list("sis", flat=True)))
    still_sms = sorted(
        set(sms) - set(Message.objects.filter(interchange__in=received, sms__in=sms).values_list("sms", flat=True))
    )
    if not still_sis and not still_sms:
        return False
    unlisted_sis = max(0, sis_missing - len(sis))
    unlisted_sms = max(0, sms_missing - len(sms))
    gaps = [
        f"SIS {_numbers(still_sis, unlisted_sis)}" if still_sis else "",
        f"SMS {_numbers(still_sms, unlisted_sms)}" if still_sms else "",
    ]
    described = " and ".join(g for g in gaps if g)
    open_case(
        CaseRequest(
            kind=CaseKind.SEQUENCE_GAP,
            summary=f"Nothing received from {link.practice.link_code} numbered {described}",
            interchange_id=interchange_id,
            practice_ods=link.practice.ods_code,
            ha_cipher=link.ha.cipher,
            evidence={
                "missing_sis": still_sis,
                "missing_sms": still_sms,
                "more_sis_not_listed": unlisted_sis,
                "more_sms_not_listed": unlisted_sms,
                "link": str(link),
            },
            rule_trace=[
                {
                    "check": "incoming sequence numbers",
                    "result": "gap",
                    "why": "A number that never arrives means an interchange from this partner was lost; ask "
                    "the practice to retransmit it (PCRM never asks automatically).",
                }
            ],
        )
    )
    return True


def _numbers(listed: list[int], more: int) -> str:
    text = ", ".join(map(str, listed))
    return f"{text} and {more} more" if more else text
