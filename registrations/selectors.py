"""Reads that rules, services and views share: reference data a transaction points at.

Selectors only read. Rules use them to decide; services use them to apply; nothing here writes.
"""

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import Q
from django.utils import timezone

from .models import (
    GP,
    HealthAuthority,
    Link,
    PendingDeduction,
    PendingDeductionStatus,
    Practice,
    Registration,
    Transaction,
)

# Reference data (GPs, links) read once per batch of transactions instead of once per transaction.
_memo: ContextVar[dict | None] = ContextVar("reference_memo", default=None)


@contextmanager
def reference_memo():
    """Within this block, reference data read through these selectors is read once. A pipeline run
    opens one per batch of transactions (under a second), so a change an admin makes meanwhile is
    seen by the next batch. Nothing here writes, and the objects are shared only within the block."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _memoised(key: tuple, load):
    memo = _memo.get()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


def gp_for(tx: Transaction) -> GP | None:
    """The GP a transaction names (national code, local code), with its practice and HA."""
    national, _, local = (tx.parsed.gp_code or "").partition(",")
    return _memoised(
        ("gp", national, local),
        lambda: GP.objects.select_related("practice__ha").filter(national_code=national, local_code=local).first(),
    )


def health_authority(cipher: str) -> HealthAuthority | None:
    """The HA with this cipher (NAD+FHS), if reference data knows it."""
    return _memoised(("ha", cipher), lambda: HealthAuthority.objects.filter(cipher=cipher).first())


def accepted_on(tx: Transaction) -> dt.date:
    value = tx.parsed.acceptance_date
    return value if isinstance(value, dt.date) else timezone.localdate()


def served_by_pcrm(practice: Practice) -> bool:
    return practice.ha.is_served_by_pcrm(timezone.localdate())


def pcrm_serves_ha(on: dt.date, *, via: str) -> Q:
    """HA.is_served_by_pcrm as a query, for rows that reach their HA through `via` ("ha", "practice__ha")."""
    return Q(**{f"{via}__migrated": True}) & (
        Q(**{f"{via}__cutover_date__isnull": True}) | Q(**{f"{via}__cutover_date__lte": on})
    )


def at_practices_pcrm_serves(queryset, on: dt.date):
    """Rows of `queryset` (anything with a `practice`) at practices whose HA PCRM serves on `on`.

    An HA still on NHAIS can already hold FP69 flags and held deductions brought across by the migration
    import (#19): they wait, untouched, until the HA is cut over, because NHAIS still acts on them.
    """
    return queryset.filter(pcrm_serves_ha(on, via="practice__ha"))


def home_link(practice: Practice) -> Link | None:
    return _memoised(
        ("home", practice.pk),
        lambda: (
            Link.objects.select_related("practice", "ha")
            .filter(practice=practice, ha=practice.ha_id, active=True)
            .first()
        ),
    )


def reply_link(tx: Transaction, practice: Practice) -> Link | None:
    """Answer on the link the transaction came in on, so the reply comes from the HA it was sent to.

    None when there is no link PCRM may use: sending on a link an HA still runs on NHAIS would break
    that HA's sequence numbers.
    """
    link = tx.message.interchange.link
    if link is not None and link.practice_id == practice.pk:
        pk = link.pk
        link = _memoised(("link", pk), lambda: Link.objects.select_related("practice", "ha").get(pk=pk))
    else:
        link = home_link(practice)
    if link is None or not link.active or not link.ha.is_served_by_pcrm(timezone.localdate()):
        return None
    return link


def registered_gp(nhs_number: str, practice: Practice) -> GP | None:
    """The GP the patient was last accepted by at `practice`, else the practice's first active GP."""
    reg = (
        Registration.objects.filter(nhs_number=nhs_number, practice=practice, gp__isnull=False)
        .select_related("gp")
        .order_by("-acceptance_date", "-id")
        .first()
    )
    if reg:
        return reg.gp
    return practice.gps.filter(active=True).order_by("id").first()


def registrations_of(nhs_number: str, limit: int = 10) -> list[Registration]:
    """PCRM's registration history for a patient, latest first, with what PDS does not hold (GP, DM, RIC)."""
    return list(
        Registration.objects.filter(nhs_number=nhs_number)
        .select_related("practice", "gp")
        .order_by("-acceptance_date", "-id")[:limit]
    )


def waiting_deduction(nhs_number: str) -> PendingDeduction | None:
    """The deduction held for the patient until its date (a removal's notice, a future-dated deduction)."""
    return (
        PendingDeduction.objects.select_related("practice")
        .filter(nhs_number=nhs_number, status=PendingDeductionStatus.PENDING)
        .first()
    )
