"""What PCRM sends is checked before it is queued (issue 13, point 9; ADR 0010).

Text copied from PDS is made fit for GP Links (upper case, accents folded, Appendix K, item lengths)
by the codec's normaliser, then the transaction is validated by the codec's own rules, exactly as an
inbound one would be. An F2, F9 or F10 must also name the patient's GP for certain: the practice's
system files it against that GP's list, so an empty or guessed NAD+GP would mislead it.
"""

from ..gplinks import CodecError, validate_transaction
from ..gplinks.jsonio import transaction_from_json, transaction_to_json
from ..gplinks.normalise import normalise_transaction
from ..models import GP, Practice, Registration, Transaction

# Transactions that act on the patient's entry in a GP's list: the GP must be known, not guessed.
NEEDS_KNOWN_GP = frozenset({"F2", "F9", "F10"})
_NOT_PAYLOAD = ("tn", "type", "errors", "warnings", "raw_segments")


def check(
    tx_type: str, payload: dict, *, practice: Practice, caused_by: Transaction | None = None, tn: int = 1
) -> tuple[dict, list[str]]:
    """The payload normalised for GP Links, and the problems that stop it being sent (empty: send it)."""
    try:
        tx = normalise_transaction(transaction_from_json({**payload, "type": tx_type, "tn": tn}))
        problems = list(validate_transaction(tx))
        # Only the items the payload carried: the JSON form also lists items it did not send.
        normalised = {k: v for k, v in transaction_to_json(tx).items() if k in payload and k not in _NOT_PAYLOAD}
    except CodecError as exc:
        return payload, [f"the codec cannot read it ({exc})"]
    if tx_type in NEEDS_KNOWN_GP:
        problem = _gp_problem(normalised.get("gp_code") or "", normalised.get("nhs_number") or "", practice, caused_by)
        if problem:
            problems.append(problem)
    return {**payload, **normalised}, problems


def _gp_problem(gp_code: str, nhs_number: str, practice: Practice, caused_by: Transaction | None) -> str:
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
