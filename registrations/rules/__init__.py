"""Processing rules, one module per GP Links transaction type the GP systems send.

`decide(tx)` is the only entry point: it reads (selectors, the PDS gateway) and returns a Decision;
it writes nothing. registrations.services.apply carries the decision out.
"""

from dataclasses import replace

from django.conf import settings

from ..models import Transaction
from ..ports import CaseKind
from ..selectors import gp_for
from .acceptance import process_acceptance
from .amendment import process_amendment
from .base import AmendGP, Decision, Outcome, Trace
from .deduction import process_deduction_request
from .removal import process_removal

RULES = {
    "G1": process_acceptance,
    "G2": process_amendment,
    "G3": process_removal,
    "G5": process_deduction_request,
}


def decide(tx: Transaction) -> Decision:
    trace = Trace()
    handler = RULES.get(tx.type)
    if handler is None:
        trace.add("transaction type", "unsupported", f"{tx.type} has no processing rules.")
        outcome = Outcome.manual(
            CaseKind.INVALID_TRANSACTION, f"{tx.type} is not a transaction PCRM receives from GP systems"
        )
    else:
        outcome = handler(tx, trace)
    return Decision(tell_gp_of_rekeyed_number(tx, outcome, trace), trace)


def tell_gp_of_rekeyed_number(tx: Transaction, outcome: Outcome, trace: Trace) -> Outcome:
    """A G2, G3 or G5 naming a superseded NHS number was re-keyed to the number PDS kept: the practice
    gets an F1 with the new number (PNA+PER API), whatever else is decided, so its next message uses it.
    (A G1's F4 already carries the number PCRM supplied.)"""
    rekeyed = outcome.nhs_number and tx.nhs_number and outcome.nhs_number != tx.nhs_number
    if tx.type not in ("G2", "G3", "G5") or not rekeyed or not settings.PROCESSING_F1_ON_REKEY:
        return outcome
    gp = gp_for(tx)
    if gp is None:
        return outcome
    trace.add(
        "NHS number",
        "practice to be told",
        f"The practice used {tx.nhs_number}, which PDS superseded by {outcome.nhs_number}: an F1 gives it the "
        "number PDS now holds.",
    )
    amend = AmendGP(
        gp.practice,
        tx.nhs_number,
        (("amended_nhs_number", outcome.nhs_number),),
        f"the NHS number {tx.nhs_number} is now {outcome.nhs_number} (its transaction TN {tx.tn})",
    )
    return replace(outcome, effects=(*outcome.effects, amend))


__all__ = ["RULES", "Decision", "Outcome", "Trace", "decide"]
