"""The demo backlog raises every kind of case an incoming interchange can raise, and most of it still
processes automatically."""

import pytest
from django.core.management import call_command
from support import drain

from exceptions.models import ExceptionCase
from registrations.models import Interchange, Link, Transaction
from registrations.ports import CaseKind
from registrations.services import inbound

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Raised only by time passing (no RECEP after 48 hours; a transaction that waited too long behind an
# earlier one of its patient) or by repeated failure, never by traffic; and a negative RECEP answers what
# PCRM sent, so none can be in the backlog before PCRM has sent anything.
OPERATIONAL = {CaseKind.MISSING_RECEP, CaseKind.DEAD_LETTER, CaseKind.NEGATIVE_RECEP, CaseKind.WAITING_BEHIND}


def test_demo_backlog_exercises_every_case_kind(mesh):
    call_command("seed_demo", patients=600)
    drain()
    # The demo skips one SIS from its busiest practice; the worker confirms the gap after a grace period
    # (MESH does not promise order). Do what that delayed task does, now.
    link = Link.objects.get(practice__ods_code="C85001")
    received = set(
        Interchange.objects.filter(sender=link.practice.link_code, direction="in").values_list("sis", flat=True)
    )
    missing = sorted(set(range(1, link.last_sis_received + 1)) - received)
    assert missing == [3]
    inbound.confirm_sequence_gap(link_id=link.pk, interchange_id=None, sis=missing, sms=missing)

    kinds = set(ExceptionCase.objects.values_list("kind", flat=True))
    assert kinds == {k.value for k in CaseKind} - OPERATIONAL
    decided = Transaction.objects.exclude(status="FORWARDED")
    automatic = decided.filter(status__in=["DONE", "REJECTED"]).count()
    assert automatic / decided.count() > 0.5


def test_synthetic_mix_is_decided_as_the_back_office_would():
    """The benchmark's mix (registrations/benchmarks/autoprocessing.py), small: every scenario ends as
    its row says (automatic, or the expected kind of case)."""
    from devtools.benchmarks.autoprocessing import _synthetic

    figures = _synthetic(150)
    assert figures["unexpected"] == {} and figures["decided_as_expected"] == 1.0
    assert figures["per_type"]["G3"]["auto_rate"] == 0.0
