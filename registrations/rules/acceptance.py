"""G1 acceptance: approve the registration when it is safe, otherwise send it to a person.

Checks run in the order a back-office user would make them; the first that fails decides, and the
trace records every check that ran so the case page can say why the case is there.

    valid? -> known GP and practice? -> right HA (else F3)? -> GP notes? -> code D / R to check?
    -> who is it (NHS number, superseded number, or trace)? -> deceased? sensitive? demographics agree?
    -> a later or competing registration? -> already at this practice? -> approve: PDS, F4, F2
"""

import datetime as dt
from dataclasses import replace

from django.conf import settings
from django.utils import timezone

from .. import gplinks
from ..models import GP, OutboxItem, Practice, Transaction, TxStatus
from ..ports import CaseKind
from ..selectors import accepted_on, gp_for, reply_link
from . import identify
from .base import Approve, CloseOldHaList, Outcome, RejectAcceptance, Trace
from .common import ha_boundary, practice_linked, recipient_serves
from .evidence import pds_snapshot, practice_summary, registration_history
from .identify import demographic_mismatch

ACCEPTANCE_CODES = {
    "A": "an acceptance",
    "D": "an acceptance following a deduction (the GP disputes it)",
    "R": "a re-sent acceptance following a wrong-HA rejection",
    "I": "an internal transfer within the partnership",
    "S": "the same GP under a new HA",
}
ACCEPTANCE_TYPES = {"1": "birth", "2": "first acceptance", "3": "transfer-in", "4": "immigrant"}


def process_acceptance(tx: Transaction, trace: Trace) -> Outcome:
    """Decide a G1. Each step below either decides (returns the Outcome that stands) or lets the next
    one run (None), in the order of the module docstring."""
    sent = tx.parsed
    gp = _known_gp(tx, sent, trace)
    if isinstance(gp, Outcome):
        return gp
    practice = gp.practice
    context = {"practice": practice_summary(practice), "gp": {"gp_code": gp.gp_code, "name": gp.name}}
    stop = _routing(tx, practice, trace, context) or _before_identity(tx, sent, practice, trace, context)
    if stop is not None:
        return stop
    found = identify.find_patient(sent, trace)
    evidence = {**context, **found.evidence}
    if found.patient is None:
        return Outcome.manual(found.case_kind, found.summary, practice_ods=practice.ods_code, evidence=evidence)
    patient = found.patient
    evidence["pds"] = pds_snapshot(patient)
    evidence["registrations"] = registration_history(patient.nhs_number)
    manual = {"practice_ods": practice.ods_code, "nhs_number": patient.nhs_number, "evidence": evidence}
    stop = _patient_stop(sent, found, trace) or _registration_stop(tx, sent, patient, practice, trace)
    if stop is not None:
        kind, summary = stop
        return Outcome.manual(kind, summary, **manual)
    # The summary is the apply step's: what it registered and sent.
    effects = [Approve(patient, gp, supplied_number=found.supplied_number)]
    if sent.acceptance_code == "S":
        effects.append(CloseOldHaList(patient, practice))
    return Outcome.done("", practice_ods=practice.ods_code, nhs_number=patient.nhs_number, effects=tuple(effects))


def _known_gp(tx: Transaction, sent: gplinks.Transaction, trace: Trace) -> GP | Outcome:
    """Valid, and from an active GP at an active practice: the GP, or the case that says otherwise."""
    if sent.errors:
        trace.add("validation", "failed", "; ".join(sent.errors))
        return Outcome.manual(CaseKind.INVALID_TRANSACTION, f"Acceptance breaks GP Links rules: {sent.errors[0]}")
    code, kind = sent.acceptance_code, sent.acceptance_type
    trace.add(
        "validation",
        "passed",
        f"Type {kind} ({ACCEPTANCE_TYPES.get(kind, '?')}), code {code} ({ACCEPTANCE_CODES.get(code, '?')}); "
        "every mandatory item is present and well formed.",
    )
    gp = gp_for(tx)
    if gp is None or not gp.active or not gp.practice.active:
        why = "is not in reference data" if gp is None else "is not active in reference data"
        trace.add("GP code", "unknown", f"GP code {sent.gp_code} {why}.")
        return Outcome.manual(CaseKind.UNKNOWN_GP, f"Unknown GP code {sent.gp_code}", evidence=patient_evidence(sent))
    trace.add("GP code", "known", f"{gp.gp_code} is a GP at {gp.practice.ods_code} {gp.practice.name}.")
    return gp


def _routing(tx: Transaction, practice: Practice, trace: Trace, context: dict) -> Outcome | None:
    """The acceptance reached an HA PCRM serves, the right one for the practice, over a link PCRM can answer on."""
    ods = practice.ods_code
    message_cipher = tx.message.ha_cipher
    stop = ha_boundary(tx, trace)
    if stop is not None:
        return replace(stop, practice_ods=ods, evidence={**context, **stop.evidence})
    if not practice_linked(practice, message_cipher) or not recipient_serves(tx):
        return _wrong_ha(tx, practice, message_cipher, trace, context)
    trace.add(
        "health authority",
        "matches",
        f"The practice is linked to HA {message_cipher}, as the message says, and the interchange reached "
        f"that HA ({tx.recipient}), which runs on PCRM.",
    )
    if reply_link(tx, practice) is None:
        trace.add("GP Links link", "none", f"{ods} has no active link to PCRM to answer on: fix reference data.")
        return Outcome.manual(
            CaseKind.UNKNOWN_GP, f"No GP Links link to answer {ods} on", practice_ods=ods, evidence=context
        )
    return None


def _before_identity(
    tx: Transaction, sent: gplinks.Transaction, practice: Practice, trace: Trace, context: dict
) -> Outcome | None:
    """What stops an acceptance whoever the patient is: GP notes to read, code D, code R with no rejection."""
    ods = practice.ods_code
    if sent.free_text:
        trace.add("GP notes", "present", f'PCSE stops on free text: a person must read "{sent.free_text}".')
        return Outcome.manual(
            CaseKind.FREE_TEXT,
            "Acceptance carries GP notes to review",
            practice_ods=ods,
            evidence={**context, **patient_evidence(sent)},
        )
    trace.add("GP notes", "none", "No free text to review.")
    if sent.acceptance_code == "D":
        trace.add(
            "acceptance code",
            "D",
            "The GP re-accepts a patient it was told to deduct: a person decides which registration stands.",
        )
        return Outcome.manual(
            CaseKind.ACCEPTANCE_CHECK,
            "Acceptance code D: the practice disputes a deduction",
            practice_ods=ods,
            evidence={
                **context,
                **patient_evidence(sent),
                "earlier_deductions": _deductions_sent(practice, sent.nhs_number or None),
            },
        )
    if sent.acceptance_code == "R":
        rejection = _earlier_rejection(sent, practice)
        if rejection is None:
            trace.add(
                "acceptance code",
                "R without a rejection",
                f"PCRM sent {ods} no wrong-HA rejection for this patient in the last "
                f"{settings.PROCESSING_R_LOOKBACK_DAYS} days, so the re-send needs checking.",
            )
            return Outcome.manual(
                CaseKind.ACCEPTANCE_CHECK,
                "Acceptance code R with no earlier rejection on record",
                practice_ods=ods,
                evidence={**context, **patient_evidence(sent)},
            )
        trace.add(
            "acceptance code",
            "R after our F3",
            f"This re-sends the acceptance PCRM rejected (TN {rejection.quoted_tn}) and now reaches the right HA.",
        )
    return None


def _patient_stop(sent: gplinks.Transaction, found: identify.Found, trace: Trace) -> tuple[CaseKind, str] | None:
    """The PDS record found cannot be changed automatically: deceased, restricted, or not certainly this person."""
    patient = found.patient
    if patient.death_date:
        trace.add("death", "deceased", f"PDS records death on {patient.death_date} ({patient.death_status}).")
        return CaseKind.DECEASED, "PDS records the patient as deceased"
    trace.add("death", "alive", "PDS records no death.")
    if patient.sensitive:
        trace.add("sensitive flag", "S", "Restricted records are never changed automatically.")
        return CaseKind.SENSITIVE, "Sensitive (S-flagged) PDS record"
    trace.add("sensitive flag", "none", "The record is not restricted.")
    if found.checked_demographics:
        trace.add("demographics", "agree", found.demographics_note)
        return None
    mismatch = demographic_mismatch(sent, patient)
    if mismatch:
        trace.add(
            "demographics",
            "differ",
            f"The acceptance and PDS disagree on {mismatch}: identity is not certain, "
            "so nothing changes until a person confirms who this is.",
        )
        return CaseKind.DEMOGRAPHIC_MISMATCH, f"Demographics differ: {mismatch}"
    trace.add("demographics", "agree", identify.IDENTITY_NOTE)
    return None


def _registration_stop(
    tx: Transaction, sent: gplinks.Transaction, patient, practice: Practice, trace: Trace
) -> tuple[CaseKind, str] | None:
    """The registration itself needs a person: a competing one, or a code that does not fit where PDS has them."""
    conflict = _conflicting_registration(tx, patient, practice)
    if conflict:
        trace.add("other registrations", "conflict", conflict)
        return CaseKind.CONFLICTING_REGISTRATION, "Conflicting registration"
    trace.add("other registrations", "none", "No later registration in PDS and no other acceptance waiting.")
    code, ods = sent.acceptance_code, practice.ods_code
    current = patient.gp_practice
    same_practice = current == ods
    if code in ("I", "S") and not same_practice:
        where = current or "no practice"
        trace.add(
            "current registration",
            "different practice",
            f"Code {code} keeps the patient at the same practice, but PDS shows {where}.",
        )
        return CaseKind.ACCEPTANCE_CHECK, f"Acceptance code {code} but PDS shows {where}"
    if code not in ("I", "S") and same_practice:
        trace.add("current registration", "same practice", f"PDS already shows {ods} since {patient.gp_since}.")
        return CaseKind.ALREADY_REGISTERED, "Patient is already registered at this practice"
    trace.add(
        "current registration",
        current or "none",
        "A change of GP within the practice." if same_practice else "The patient is moving to this practice.",
    )
    return None


def patient_evidence(sent: gplinks.Transaction) -> dict:
    """Who the acceptance is about, for a case decided before identity mattered (notes, codes, HA).

    The look-up runs on a scratch trace: it informs the person but is not why the case is here.
    """
    found = identify.find_patient(sent, Trace())
    evidence = dict(found.evidence)
    if found.patient is not None:
        evidence["pds"] = pds_snapshot(found.patient)
        evidence["registrations"] = registration_history(found.patient.nhs_number)
    return evidence


def _wrong_ha(tx, practice: Practice, cipher: str, trace: Trace, context: dict) -> Outcome:
    trace.add(
        "health authority",
        "wrong",
        f"The message is addressed to HA {cipher} and reached {tx.recipient}, but {practice.ods_code} belongs to "
        f"{practice.ha.cipher} ({practice.ha.name}): the acceptance went to the wrong HA.",
    )
    if not settings.PROCESSING_WRONG_HA_REJECTS:
        return Outcome.manual(
            CaseKind.INVALID_TRANSACTION,
            f"Acceptance addressed to the wrong HA ({cipher})",
            practice_ods=practice.ods_code,
            evidence={**context, **patient_evidence(tx.parsed)},
        )
    if reply_link(tx, practice) is None:
        trace.add("reply", "no link", f"{practice.ods_code} has no active GP Links link to answer on.")
        return Outcome.manual(
            CaseKind.UNKNOWN_GP, "Wrong HA and no link to reject through", practice_ods=practice.ods_code
        )
    return Outcome.rejected(
        f"Rejected: wrong HA ({cipher}); F3 sent",
        practice_ods=practice.ods_code,
        effects=(RejectAcceptance(practice, f"WRONG HA - TRY {practice.ha.name}"),),
    )


def _earlier_rejection(sent: gplinks.Transaction, practice: Practice) -> OutboxItem | None:
    """Our wrong-HA F3 to this practice for the same person, within the look-back window (an F3 sent for
    any other reason, as PCRM once did, does not make a re-send with code R safe to approve)."""
    since = timezone.now() - dt.timedelta(days=settings.PROCESSING_R_LOOKBACK_DAYS)
    for item in (
        OutboxItem.objects.filter(
            tx_type="F3",
            link__practice=practice,
            created_at__gte=since,
            caused_by__isnull=False,
            payload__free_text__startswith="WRONG HA",
        )
        .select_related("caused_by")
        .order_by("-id")[:200]
    ):
        earlier = item.caused_by.parsed
        if sent.nhs_number and earlier.nhs_number == sent.nhs_number:
            return item
        if (
            (earlier.surname or "").upper() == (sent.surname or "").upper()
            and earlier.birth_date == sent.birth_date
            and sent.birth_date
        ):
            return item
    return None


def _deductions_sent(practice: Practice, nhs_number: str | None) -> list[dict]:
    if not nhs_number:
        return []
    items = OutboxItem.objects.filter(tx_type="F2", link__practice=practice, payload__nhs_number=nhs_number)
    shown = []
    for item in items.order_by("-id")[:5]:
        sent = item.outbound
        on = sent.deduction_date
        shown.append(
            {
                "reason": sent.deduction_reason or None,
                "date": on.isoformat() if isinstance(on, dt.date) else (on or None),
                "queued_at": item.created_at.isoformat(),
            }
        )
    return shown


def _conflicting_registration(tx: Transaction, patient, practice: Practice) -> str:
    """Why this acceptance competes with another registration, in words ('' when it does not)."""
    on = accepted_on(tx)
    current, since = patient.gp_practice, patient.gp_since
    if current and current != practice.ods_code and since and since > on:
        return (
            f"PDS registered the patient at {current} from {since}, after this acceptance's "
            f"date {on}: applying it would undo a later registration."
        )
    waiting = (
        Transaction.objects.filter(
            type="G1", status=TxStatus.MANUAL, nhs_number__in={tx.nhs_number, patient.nhs_number} - {""}
        )
        .exclude(pk=tx.pk)
        .exclude(sender=tx.sender)
        .order_by("-id")
        .first()
    )
    if waiting:
        return (
            f"Another practice's acceptance for this patient (from {waiting.sender}, TN {waiting.tn}) is waiting "
            "for a person: decide them together."
        )
    return ""
