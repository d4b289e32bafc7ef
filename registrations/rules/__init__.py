"""Processing rules, one module per GP Links transaction type the GP systems send."""

from .acceptance import process_acceptance
from .amendment import process_amendment
from .base import Outcome, Trace
from .deduction import process_deduction_request
from .removal import process_removal

RULES = {
    "G1": process_acceptance,
    "G2": process_amendment,
    "G3": process_removal,
    "G5": process_deduction_request,
}

__all__ = ["RULES", "Outcome", "Trace"]
