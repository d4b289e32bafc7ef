"""Processing rules, one module per GP Links transaction type the GP systems send.

`decide(tx)` is the only entry point: it reads (selectors, the PDS gateway) and returns a Decision;
it writes nothing. registrations.services.apply carries the decision out.
"""

from ..models import Transaction
from ..ports import CaseKind
from .acceptance import process_acceptance
from .amendment import process_amendment
from .base import Decision, Outcome, Trace
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
    return Decision(outcome, trace)


__all__ = ["RULES", "Decision", "Outcome", "Trace", "decide"]
