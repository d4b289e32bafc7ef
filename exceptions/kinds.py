"""What each kind of case means to the people who work it: words, SLA and the actions it allows."""

from dataclasses import dataclass

from registrations.ports import CaseKind


@dataclass(frozen=True)
class KindInfo:
    label: str
    description: str
    sla_working_days: int
    actions: tuple[str, ...]


_RESOLVE = ("apply_with_patient", "keep_pds_and_close", "reject_to_practice", "escalate")
_OPS = ("reprocess", "close_no_action", "escalate")

CATALOGUE: dict[CaseKind, KindInfo] = {
    CaseKind.NO_TRACE: KindInfo(
        "No trace",
        "No PDS record matches the patient in the message.",
        3,
        ("apply_with_patient", "allocate_and_apply", "reject_to_practice", "escalate"),
    ),
    CaseKind.MULTIPLE_MATCHES: KindInfo(
        "Multiple matches", "Several PDS records match; a person must choose.", 3, _RESOLVE
    ),
    CaseKind.DEMOGRAPHIC_MISMATCH: KindInfo(
        "Demographic mismatch", "The message and PDS disagree beyond tolerance.", 3, _RESOLVE
    ),
    CaseKind.DECEASED: KindInfo("Deceased", "PDS records the patient as deceased.", 2, _RESOLVE),
    CaseKind.SENSITIVE: KindInfo("Sensitive record", "The PDS record is restricted (S flag).", 2, _RESOLVE),
    CaseKind.SUPERSEDED_NUMBER: KindInfo(
        "Superseded number", "The NHS number was merged into another record.", 3, _RESOLVE
    ),
    CaseKind.LEGACY_NHS_NUMBER: KindInfo("Legacy NHS number", "A pre-1996 alphanumeric NHS number.", 5, _RESOLVE),
    CaseKind.UNKNOWN_GP: KindInfo(
        "Unknown GP",
        "The GP code or practice is not in reference data.",
        3,
        ("reprocess", "reject_to_practice", "escalate"),
    ),
    CaseKind.INVALID_TRANSACTION: KindInfo(
        "Invalid transaction",
        "The transaction breaks the GP Links rules.",
        3,
        ("reject_to_practice", "close_no_action", "escalate"),
    ),
    CaseKind.INVALID_INTERCHANGE: KindInfo("Invalid interchange", "The interchange could not be read.", 1, _OPS),
    CaseKind.FREE_TEXT: KindInfo("Free-text review", "The GP added notes that a person must read.", 3, _RESOLVE),
    CaseKind.DEMOGRAPHIC_CHANGE: KindInfo(
        "Demographic change request",
        "The GP asks to change name, birth date or sex.",
        5,
        ("accept_change", "refuse_change", "escalate"),
    ),
    CaseKind.REMOVAL_REVIEW: KindInfo(
        "Removal review",
        "The GP asks to remove an out-of-area patient.",
        5,
        ("approve_removal", "refuse_removal", "escalate"),
    ),
    CaseKind.DEDUCTION_REVIEW: KindInfo(
        "Deduction review",
        "A deduction request needs a decision.",
        5,
        ("approve_deduction", "refuse_deduction", "escalate"),
    ),
    CaseKind.FP69_RESPONSE: KindInfo(
        "FP69 response", "A reply to an FP69 notice.", 5, ("remove_fp69_flag", "let_fp69_run", "escalate")
    ),
    CaseKind.INVALID_ADDRESS: KindInfo("Invalid address", "The address failed validation.", 3, _RESOLVE),
    CaseKind.CONFLICTING_REGISTRATION: KindInfo(
        "Conflicting registration", "Another registration for this patient is in flight.", 3, _RESOLVE
    ),
    CaseKind.ALREADY_REGISTERED: KindInfo("Already registered", "PDS already shows this practice.", 3, _RESOLVE),
    CaseKind.ACCEPTANCE_CHECK: KindInfo("Acceptance check", "A D or R acceptance needs checking.", 3, _RESOLVE),
    CaseKind.NHS_NUMBER_ALLOCATION: KindInfo(
        "NHS number allocation",
        "The patient needs an NHS number.",
        3,
        ("allocate_and_apply", "apply_with_patient", "escalate"),
    ),
    CaseKind.SEQUENCE_GAP: KindInfo(
        "Sequence gap", "An interchange from a partner seems to be missing.", 1, ("close_no_action", "escalate")
    ),
    CaseKind.MISSING_RECEP: KindInfo(
        "Missing RECEP", "A partner has not acknowledged what we sent.", 2, ("close_no_action", "escalate")
    ),
    CaseKind.MESH_REPORT: KindInfo(
        "MESH report", "MESH reported a message as undelivered or in error.", 1, ("close_no_action", "escalate")
    ),
    CaseKind.DEAD_LETTER: KindInfo("Dead letter", "Processing failed repeatedly.", 1, _OPS),
}


def info(kind: str) -> KindInfo:
    return CATALOGUE[CaseKind(kind)]
