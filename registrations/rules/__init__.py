"""Processing rules, one module per GP Links transaction type."""

from .acceptance import process_acceptance
from .base import Outcome, Trace
from .review import process_amendment, process_deduction_request, process_removal

RULES = {
    "G1": process_acceptance,
    "G2": process_amendment,
    "G3": process_removal,
    "G5": process_deduction_request,
}

__all__ = ["RULES", "Outcome", "Trace"]
