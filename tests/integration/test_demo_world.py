"""The demo world loads deterministically and its MESH backlog exercises every path of the foundation."""

import re

import pytest
from django.core.management import call_command
from support import drain

from exceptions.models import ExceptionCase
from pds.models import Patient
from registrations.models import Interchange, OutboxItem, Practice, Transaction
from registrations.services.outbox import relay

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_seed_demo_backlog_covers_every_gp_transaction_type_and_both_outcomes(mesh, mesh_as):
    call_command("seed_demo", patients=600)
    first_numbers = list(Patient.objects.order_by("id").values_list("nhs_number", flat=True)[:5])

    drain()
    relay()

    assert Practice.objects.count() == 12
    assert all(re.fullmatch(r"[A-Z]{3}5", code) for code in Practice.objects.values_list("link_code", flat=True))
    types = set(Transaction.objects.values_list("type", flat=True))
    assert types == {"G1", "G2", "G3", "G5"}
    statuses = set(Transaction.objects.values_list("status", flat=True))
    assert {"DONE", "MANUAL", "FORWARDED"} <= statuses
    assert set(Interchange.objects.filter(direction="in").values_list("status", flat=True)) == {
        "PARSED",
        "FORWARDED",
        "INVALID",
        "REPORT",  # a MESH non-delivery report
        # What the MESH front door withstands: a spoofed sender, a RECEP for nothing PCRM sent,
        # another service's workflow, a body whose compression is a lie.
        "HELD",
        "RECEP",
        "UNHANDLED",
        "QUARANTINED",
    }
    kinds = set(ExceptionCase.objects.values_list("kind", flat=True))
    assert {
        "NO_TRACE",
        "FREE_TEXT",
        "DECEASED",
        "SENSITIVE",
        "INVALID_INTERCHANGE",
        "DEMOGRAPHIC_CHANGE",
        "REMOVAL_REVIEW",
        "DEDUCTION_REVIEW",
    } <= kinds
    assert {"F4", "F2", "F3"} <= set(OutboxItem.objects.values_list("tx_type", flat=True))
    # The interchange for Berkshire (not migrated) went to its NHAIS mailbox byte for byte.
    forwarded = Interchange.objects.get(direction="in", status="FORWARDED")
    with mesh_as("NHAISBE1") as nhais:
        ids = nhais.list_messages()
        assert len(ids) == 1 and nhais.retrieve_message(ids[0]).read() == bytes(forwarded.raw)

    # Deterministic: the same command on an empty database gives the same people.
    call_command("flush", interactive=False)
    call_command("seed_demo", patients=600, no_backlog=True)
    assert list(Patient.objects.order_by("id").values_list("nhs_number", flat=True)[:5]) == first_numbers
    call_command("seed_demo", if_empty=True, no_backlog=True)
    assert Practice.objects.count() == 12
