"""Reads for close of quarter and capitation: the closed quarters, one quarter's stored lines, and the
links a close sends its F8s on. The pages, presenters and services read through these; nothing here
writes."""

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Abs

from ..models import CapitationLine, Link, QuarterClose
from ..selectors import pcrm_serves_ha


def quarters(*, with_csv: bool = False, with_summary: bool = True) -> QuerySet[QuarterClose]:
    """Closed quarters for one quarter's page or download: each stored file is read only when wanted."""
    unread = [name for name, wanted in (("csv", with_csv), ("summary", with_summary)) if not wanted]
    return QuarterClose.objects.defer(*unread)


def is_closed(quarter_end: dt.date) -> bool:
    return QuarterClose.objects.filter(quarter_end=quarter_end).exists()


def practice_lines(quarter: QuarterClose) -> QuerySet[CapitationLine]:
    """The quarter's practice lines (not its per-GP lines), in practice order."""
    return quarter.lines.filter(level=CapitationLine.Level.PRACTICE)


def largest_lists(quarter: QuarterClose, limit: int) -> list[tuple[str, str, int]]:
    """(ODS code, name, patients) of the practices with the most patients, largest first."""
    return list(
        practice_lines(quarter)
        .order_by("-patients", "practice_ods")
        .values_list("practice_ods", "practice_name", "patients")[:limit]
    )


def largest_changes(quarter: QuarterClose, limit: int) -> list[CapitationLine]:
    """The practice lines that moved most since the previous quarter, biggest movement first."""
    moved = practice_lines(quarter).filter(change__isnull=False).exclude(change=0)
    return list(moved.annotate(movement=Abs("change")).order_by("-movement", "practice_ods")[:limit])


def practice_patients(quarter_end: dt.date) -> dict[str, int]:
    """Each practice's list size in a closed quarter, if that quarter's snapshot is stored (else empty)."""
    return dict(
        CapitationLine.objects.filter(
            quarter__quarter_end=quarter_end, quarter__generated_at__isnull=False, level=CapitationLine.Level.PRACTICE
        ).values_list("practice_ods", "patients")
    )


def stored_lines(quarter: QuarterClose) -> list[CapitationLine]:
    return list(quarter.lines.order_by("id"))


def other_nations(quarter: QuarterClose) -> list[str]:
    """The nations other than PCSE's with practices in the quarter's lines (never "": no reference data)."""
    found = set(quarter.lines.exclude(nation="").values_list("nation", flat=True))
    return sorted(found - {settings.CAPITATION_PCSE_NATION})


def f8_links(today: dt.date) -> QuerySet[Link]:
    """The links PCRM closes quarters for: active, to an active practice, in an HA PCRM serves today."""
    return Link.objects.filter(pcrm_serves_ha(today, via="ha"), active=True, practice__active=True)
