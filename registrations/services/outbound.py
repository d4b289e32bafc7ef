"""What PCRM sends is checked before it is queued (issue 13, point 9; ADR 0010).

Text copied from PDS is made fit for GP Links (upper case, accents folded, Appendix K, item lengths)
by the codec's normaliser, then the transaction is validated by the codec's own rules, exactly as an
inbound one would be. An F2, F9 or F10 must also name the patient's GP for certain: the practice's
system files it against that GP's list, so an empty or guessed NAD+GP would mislead it.
"""

from dataclasses import replace

from ..gplinks import CodecError, Transaction, validate_transaction
from ..gplinks.normalise import normalise_transaction
from ..models import GP, Practice, Registration
from ..models import Transaction as Received

# Transactions that act on the patient's entry in a GP's list: the GP must be known, not guessed.
NEEDS_KNOWN_GP = frozenset({"F2", "F9", "F10"})


def outbound(tx_type: str, **items) -> Transaction:
    """An outbound F-transaction carrying `items` (the codec's names and types: dates are dates, an
    address an Address). It is numbered when the relay builds its interchange."""
    return Transaction(tn=0, type=tx_type, **items)


def check(
    tx: Transaction, *, practice: Practice, caused_by: Received | None = None, tn: int = 1
) -> tuple[Transaction, list[str]]:
    """The transaction normalised for GP Links (a copy), and the problems that stop it being sent
    (empty: send it)."""
    try:
        normalised = normalise_transaction(replace(tx, tn=tn))
        problems = list(validate_transaction(normalised))
    except CodecError as exc:
        return tx, [f"the codec cannot read it ({exc})"]
    if tx.type in NEEDS_KNOWN_GP:
        problem = _gp_problem(normalised.gp_code or "", normalised.nhs_number or "", practice, caused_by)
        if problem:
            problems.append(problem)
    return replace(normalised, tn=tx.tn), problems


def _gp_problem(gp_code: str, nhs_number: str, practice: Practice, caused_by: Received | None) -> str:
    if not gp_code:
        return f"NAD+GP: no GP is known for the patient at {practice.ods_code}"
    national, _, local = gp_code.partition(",")
    gp = GP.objects.filter(practice=practice, national_code=national, local_code=local).first()
    if gp is None:
        return f"NAD+GP: {gp_code} is not a GP at {practice.ods_code}"
    # Known: the practice itself named this GP, PCRM registered the patient with them, or there is no
    # one else it could be (a single-handed practice).
    named = caused_by is not None and caused_by.sender == practice.link_code and caused_by.gp_code == gp_code
    registered = Registration.objects.filter(nhs_number=nhs_number, practice=practice, gp=gp).exists()
    single_handed = list(practice.gps.filter(active=True).values_list("pk", flat=True)) == [gp.pk]
    if named or registered or single_handed:
        return ""
    return (
        f"NAD+GP: the patient's GP at {practice.ods_code} is not known (no registration with a GP recorded, "
        f"and the practice has several); {gp_code} would be a guess"
    )
