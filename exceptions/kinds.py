"""What each kind of case means to the people who work it: code, words, SLA and the actions that fit it
(the actions themselves are declared in exceptions.actions).

Codes group the kinds the way the work is shared out: E1xx who-is-it (NBO), E2xx what-was-sent
(reference data and data quality), E3xx decisions (PCSE registrations), E9xx transport (operations).
`public_code` names the PDS/SMSP vocabulary term where one exists, so cases can be matched with
national reporting. SLAs are working days (England and Wales bank holidays excluded).
"""

from dataclasses import dataclass

from registrations.ports import CaseKind


@dataclass(frozen=True)
class KindInfo:
    code: str
    label: str
    description: str
    sla_working_days: int
    actions: tuple[str, ...]
    public_code: str = ""


_G1_IDENTITY = ("apply_with_patient", "reject_to_practice", "escalate")
_TRANSPORT = ("close_no_action", "escalate")

CATALOGUE: dict[CaseKind, KindInfo] = {
    CaseKind.NO_TRACE: KindInfo(
        "E101", "No trace",
        "No PDS record matches the patient in the message. Trace by hand, allocate a new NHS number, or reject.",
        3, ("apply_with_patient", "allocate_and_apply", "reject_to_practice", "keep_pds_and_close", "reprocess",
            "escalate"),
        public_code="DEMOG-0001",
    ),
    CaseKind.MULTIPLE_MATCHES: KindInfo(
        "E102", "Multiple matches",
        "Several PDS records match the patient. Compare them side by side and choose one, or reject.",
        3, _G1_IDENTITY, public_code="DEMOG-0007",
    ),
    CaseKind.DEMOGRAPHIC_MISMATCH: KindInfo(
        "E103", "Demographic mismatch",
        "The message and PDS disagree on surname, birth date or sex beyond tolerance.",
        3, ("apply_with_patient", "reject_to_practice", "reprocess", "escalate"),
    ),
    CaseKind.DECEASED: KindInfo(
        "E104", "Deceased",
        "PDS records the patient as deceased. Reject, or correct the death status in PDS and reprocess. An "
        "informal death notified by PDS: verify it with the NBO, then close (a formal notification deducts).",
        2, ("reject_to_practice", "keep_pds_and_close", "reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.SENSITIVE: KindInfo(
        "E105", "Sensitive record",
        "The PDS record is restricted (S flag): nothing changes it automatically. Check and apply, or reject.",
        2, ("apply_with_patient", "reject_to_practice", "keep_pds_and_close", "escalate"),
    ),
    CaseKind.SUPERSEDED_NUMBER: KindInfo(
        "E106", "Superseded number",
        "The NHS number was merged into another record that does not agree with the message.",
        3, _G1_IDENTITY, public_code="DEMOG-0017",
    ),
    CaseKind.LEGACY_NHS_NUMBER: KindInfo(
        "E107", "Legacy NHS number",
        "A pre-1996 alphanumeric NHS number, which PDS does not hold. Find the patient's current number.",
        5, ("apply_with_patient", "allocate_and_apply", "reject_to_practice", "keep_pds_and_close", "escalate"),
    ),
    CaseKind.NHS_NUMBER_ALLOCATION: KindInfo(
        "E108", "NHS number allocation",
        "A first registration or immigrant with no NHS number and no PDS match: allocate one, or choose a record.",
        3, ("allocate_and_apply", "apply_with_patient", "reject_to_practice", "escalate"),
    ),
    CaseKind.UNKNOWN_GP: KindInfo(
        "E201", "Unknown GP",
        "The GP code, practice or trading partner is not in reference data. Fix it in admin, then reprocess.",
        3, ("reprocess", "reject_to_practice", "close_no_action", "escalate"),
    ),
    CaseKind.INVALID_TRANSACTION: KindInfo(
        "E202", "Invalid transaction",
        "The transaction breaks the GP Links rules (a missing or malformed item).",
        3, ("reject_to_practice", "reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.INVALID_INTERCHANGE: KindInfo(
        "E203", "Invalid interchange",
        "The interchange could not be read at all. Ask the sender to resend, or reprocess after a codec fix.",
        1, ("reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.UNAUTHENTICATED_PARTNER: KindInfo(
        "E205", "Unauthenticated partner",
        "The MESH mailbox that sent the interchange is not the one configured for its sender link code, or the "
        "link is unknown or inactive. Nothing was applied and no RECEP sent. Correct the reference data if the "
        "sender is genuine, then reprocess; otherwise close.",
        1, ("reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.REUSED_NUMBER: KindInfo(
        "E206", "Reused transaction number",
        "A partner reused a sequence and transaction number already received, with different content. "
        "Compare the two; reprocess to apply the new one, or close.",
        2, ("reprocess", "reject_to_practice", "close_no_action", "escalate"),
    ),
    CaseKind.OUTBOUND_REFUSED: KindInfo(
        "E207", "Not sent: invalid outbound",
        "PCRM would have sent the practice something GP Links cannot carry (no known registered GP, a value "
        "the codec refuses). Nothing was sent: tell the practice another way, or fix the data and redo it.",
        2, ("close_no_action", "escalate"),
    ),
    CaseKind.MIGRATION_DIFFERENCE: KindInfo(
        "E280", "Migration difference",
        "A patient in an HA's NHAIS registration extract does not agree with PDS (another person, another "
        "practice, or no record). Put PDS or the extract right, then close; the HA cannot cut over while "
        "these are open.",
        3, ("close_no_action", "escalate"),
    ),
    CaseKind.INVALID_ADDRESS: KindInfo(
        "E204", "Invalid address",
        "The new address would fail PDS validation. Apply a corrected address, or keep PDS as it is.",
        3, ("apply_corrected_address", "keep_pds_and_close", "escalate"),
    ),
    CaseKind.FREE_TEXT: KindInfo(
        "E301", "Free-text review",
        "The acceptance carries GP notes, which PCSE reads before any registration goes through.",
        3, _G1_IDENTITY,
    ),
    CaseKind.ACCEPTANCE_CHECK: KindInfo(
        "E302", "Acceptance check",
        "A disputed (D) or re-sent (R) acceptance, or a code that does not fit PDS: check the history first.",
        3, ("apply_with_patient", "reject_to_practice", "keep_pds_and_close", "escalate"),
    ),
    CaseKind.ALREADY_REGISTERED: KindInfo(
        "E303", "Already registered",
        "PDS already shows the patient at this practice. Approve again, or close if it is a duplicate.",
        3, ("apply_with_patient", "keep_pds_and_close", "escalate"),
    ),
    CaseKind.CONFLICTING_REGISTRATION: KindInfo(
        "E304", "Conflicting registration",
        "Another registration for this patient is later or still in flight, or a practice amends someone PDS "
        "shows elsewhere.",
        3, ("apply_with_patient", "keep_pds_and_close", "reject_to_practice", "escalate"),
    ),
    CaseKind.DEMOGRAPHIC_CHANGE: KindInfo(
        "E305", "Demographic change request",
        "The practice asks to change the name, birth date or sex; PDS is the master. Compare and decide.",
        5, ("accept_change", "refuse_change", "escalate"),
    ),
    CaseKind.REMOVAL_REVIEW: KindInfo(
        "E306", "Removal review",
        "The practice asks to remove a patient who lives out of its area. Approve (F2) or refuse.",
        5, ("approve_removal", "refuse_removal", "escalate"),
    ),
    CaseKind.DEDUCTION_REVIEW: KindInfo(
        "E307", "Deduction review",
        "A deduction request PCRM could not confirm (death unknown to PDS, other reason). Deduct (F2) or refuse "
        "(F11).",
        5, ("approve_deduction", "refuse_deduction", "escalate"),
    ),
    CaseKind.FP69_RESPONSE: KindInfo(
        "E308", "FP69 response",
        "The practice answered an FP69 notice, or a notice expired after PDS changed (death, S flag, new "
        "address). Remove the flag (F10) if the address is confirmed, let it run, or close.",
        5, ("remove_fp69_flag", "let_fp69_run", "close_no_action", "escalate"),
    ),
    CaseKind.SEQUENCE_GAP: KindInfo(
        "E901", "Sequence gap",
        "An interchange from a partner never arrived. Ask the practice to retransmit it (never automatic).",
        1, _TRANSPORT,
    ),
    CaseKind.MISSING_RECEP: KindInfo(
        "E902", "Missing RECEP",
        "A partner has not acknowledged an interchange PCRM sent. Confirm with them before resending by hand.",
        2, _TRANSPORT,
    ),
    CaseKind.MESH_REPORT: KindInfo(
        "E903", "MESH report", "MESH reported a message PCRM sent as undelivered or in error.", 1, _TRANSPORT,
    ),
    CaseKind.DEAD_LETTER: KindInfo(
        "E904", "Dead letter",
        "Processing failed again and again for a passing reason (PDS busy, a lock). Reprocess when it clears.",
        1, ("reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.QUARANTINED_MESSAGE: KindInfo(
        "E905", "Quarantined message",
        "A MESH message could not be stored or decoded normally (bad compression, unreadable headers). Its bytes "
        "and headers are kept; ask the sender to resend, or reprocess after a fix.",
        1, ("reprocess", "close_no_action", "escalate"),
    ),
    CaseKind.UNKNOWN_WORKFLOW: KindInfo(
        "E906", "Other MESH workflow",
        "A message arrived in PCRM's mailbox under a workflow PCRM does not handle. It is kept and acknowledged; "
        "find who sent it and why.",
        2, _TRANSPORT,
    ),
    CaseKind.NEGATIVE_RECEP: KindInfo(
        "E907", "Negative RECEP",
        "A partner's RECEP rejected an interchange or message PCRM sent (CA, CI, NA or ER). Find out why with "
        "the partner before resending by hand.",
        1, _TRANSPORT,
    ),
    CaseKind.UNMATCHED_RECEP: KindInfo(
        "E908", "Unmatched RECEP",
        "A RECEP quotes an interchange PCRM has no record of sending on that link. Check the partner's numbering.",
        2, _TRANSPORT,
    ),
    CaseKind.WAITING_BEHIND: KindInfo(
        "E909", "Waiting behind another transaction",
        "An earlier transaction about the same patient is not settled (it failed again and again, or waited too "
        "long), so this one was not applied: order matters. Settle the earlier one, then reprocess this one.",
        1, ("reprocess", "close_no_action", "escalate"),
    ),
}  # fmt: skip


def info(kind: str) -> KindInfo:
    return CATALOGUE[CaseKind(kind)]
