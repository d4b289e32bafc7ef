"""The resolution actions, each declared once: what it is called, what it does, which case kinds and
transaction types it fits, its reasons, what the person supplies, whether it needs confirming, the
permission it needs and the service that carries it out. The case page, the action form, the
permission checks and the resolution services are all built from this registry.

Which actions each *kind* of case offers is the kind's side of the relation, declared with the kind
in exceptions.kinds (`KindInfo.actions`); `Action.kinds` reads it from there.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import import_string

from core.roles import Perm
from exceptions.kinds import CATALOGUE, info
from exceptions.models import OPEN_STATUSES, ExceptionCase
from registrations.models import TxStatus

# What a person can supply besides the reason and the note, each becoming fields of the action form
# (exceptions.forms) and keyword arguments of the service:
#   nhs_number   the PDS record chosen (a candidate, the message's number, or another number)
#   text         the words the practice will see (F3/F11); required when the reason is OTHER
#   address      a dict of house, road, locality, post_town, county, postcode
#   to           the colleague a case is escalated to (None: the team leaders)
INPUTS = ("nhs_number", "text", "address", "to")
ANY_TYPE = "*"  # an Action.sends key: whatever the case's transaction (or none)


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    description: str
    reasons: dict[str, str]  # reason code -> plain words; every resolution names one
    outcome: str  # the case status the action leaves: RESOLVED, REJECTED, CLOSED, or "" (stays open)
    # GP Links text sent for a reason code (F3/F11), where the action sends one
    texts: dict[str, str] | None = None
    # The transaction types the action applies to (the transaction must be waiting for a person);
    # None: the action does not need a transaction.
    tx_types: tuple[str, ...] | None = None
    inputs: tuple[str, ...] = ()
    # Its effect cannot simply be undone (something is sent that ends or refuses a registration, a new
    # NHS number is made, or the identity on PDS changes): the person confirms on a second page.
    confirm: bool = False
    permission: str = Perm.RESOLVE_CASE
    # What goes to the practice, per transaction type, in words for the check-your-answers page. An action
    # that sends a practice a message for a type is confirmed for that type even when `confirm` is False
    # (applying an acceptance sends an approval and, to the practice the patient leaves, a deduction).
    sends: dict[str, str] | None = None

    @property
    def service(self) -> Callable:
        """The resolution service that carries the action out: exceptions.services.resolution.<code>."""
        return import_string(f"exceptions.services.resolution.{self.code}")

    def needs_confirming(self, tx_type: str | None) -> bool:
        """Whether the person checks their answers on a second page before it is done."""
        return self.confirm or bool(self.what_is_sent(tx_type))

    def what_is_sent(self, tx_type: str | None) -> str:
        sends = self.sends or {}
        return sends.get(tx_type or "") or sends.get(ANY_TYPE, "")

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, entry in CATALOGUE.items() if self.code in entry.actions]


_DECLARED = (
    Action(
        "apply_with_patient",
        "Apply with this patient",
        "Carry out what the practice asked for, on the PDS record chosen: an acceptance registers the patient "
        "and approves (F4, and F2 to the practice they left); an amendment updates PDS; a deduction request "
        "deducts (F2).",
        {
            "TRACED_MANUALLY": "Found by a manual trace",
            "SAME_PERSON_CONFIRMED": "Demographics checked: the same person",
            "NOTES_READ": "GP notes read: nothing stops the registration",
            "HISTORY_CHECKED": "Registration history checked",
        },
        "RESOLVED",
        tx_types=("G1", "G2", "G5"),
        inputs=("nhs_number",),
        sends={
            "G1": "An approval (F4) to the practice, and a deduction (F2) to the practice the patient leaves, "
            "if PDS shows them registered elsewhere",
            "G5": "A deduction (F2) to the practice, with the reason it asked for",
        },
    ),
    Action(
        "allocate_and_apply",
        "Allocate a new NHS number and apply",
        "Create a PDS record with a new NHS number from the acceptance's details, register the patient and "
        "approve (F4 carrying the new number).",
        {"NEW_TO_NHS": "New to the NHS (birth, first registration, immigrant)", "NO_RECORD": "No existing record"},
        "RESOLVED",
        tx_types=("G1",),
        confirm=True,
        sends={"G1": "An approval (F4) carrying the new NHS number to the practice"},
    ),
    Action(
        "keep_pds_and_close",
        "Keep PDS as it is and close",
        "Change nothing in PDS and send nothing to the practice.",
        {
            "PDS_CORRECT": "PDS is already right",
            "DUPLICATE_TRANSACTION": "A duplicate of work already done",
            "DONE_ELSEWHERE": "Dealt with outside PCRM",
        },
        "CLOSED",
        tx_types=("G1", "G2", "G3", "G5"),
    ),
    Action(
        "reject_to_practice",
        "Reject to the practice",
        "Refuse the transaction. An acceptance that reached the wrong HA gets an F3 (the practice re-sends it to "
        "the right HA); any other refused acceptance gets nothing over GP Links, and PCSE tells the practice. A "
        "deduction request gets an F11 with the reason.",
        {
            "INSUFFICIENT_DETAILS": "Not enough detail to identify the patient",
            "PATIENT_DECEASED": "PDS records the patient as deceased",
            "DUPLICATE": "Duplicate registration",
            "WRONG_HA": "Wrong health authority",
            "NOT_ON_LIST": "Patient not on the practice's list",
            "OTHER": "Other (text required)",
        },
        "REJECTED",
        texts={
            "INSUFFICIENT_DETAILS": "INSUFFICIENT DETAILS TO IDENTIFY PATIENT - PLEASE RESUBMIT",
            "PATIENT_DECEASED": "PATIENT RECORDED AS DECEASED - CONTACT PCSE",
            "DUPLICATE": "DUPLICATE REGISTRATION",
            "WRONG_HA": "WRONG HA - PLEASE RESEND TO THE CORRECT HA",
            "NOT_ON_LIST": "PATIENT NOT REGISTERED WITH THIS PRACTICE",
        },
        tx_types=("G1", "G5"),
        confirm=True,
        inputs=("text",),
        sends={
            "G1": "For a wrong HA, a rejection (F3) to the practice so it re-sends to the right HA; for any "
            "other reason nothing over GP Links (PCSE tells the practice)",
            "G5": "A refusal (F11) to the practice, with the words below",
        },
    ),
    Action(
        "approve_removal",
        "Approve the removal",
        "Give the patient notice (30 days unless configured otherwise), then deduct them from the practice's "
        "list (F2) and end the registration in PDS; cancelled if they register elsewhere first. An immediate "
        "removal deducts now.",
        {"OUT_OF_AREA_CONFIRMED": "Patient confirmed out of area", "IMMEDIATE": "Immediate removal applies"},
        "RESOLVED",
        tx_types=("G3",),
        confirm=True,
        sends={"G3": "A deduction (F2) to the practice"},
    ),
    Action(
        "refuse_removal",
        "Refuse the removal",
        "Record the refusal; nothing is sent (GP Links has no removal rejection).",
        {
            "WITHIN_AREA": "Patient lives within the practice area",
            "NOTICE_NOT_GIVEN": "Notice not given",
            "OTHER": "Other",
        },
        "REJECTED",
        tx_types=("G3",),
    ),
    Action(
        "approve_deduction",
        "Approve the deduction",
        "Deduct the patient (F2) with the reason asked for, and end the registration in PDS.",
        {
            "DEATH_VERIFIED": "Death verified",
            "EMIGRATION_CONFIRMED": "Emigration confirmed",
            "REASON_ACCEPTED": "Reason accepted",
        },
        "RESOLVED",
        tx_types=("G5",),
        confirm=True,
        sends={"G5": "A deduction (F2) to the practice, with the reason it asked for"},
    ),
    Action(
        "refuse_deduction",
        "Refuse the deduction",
        "Tell the practice the deduction request is refused, with the reason (F11).",
        {
            "DEATH_NOT_VERIFIED": "Death not verified",
            "NOT_ON_LIST": "Patient not on the practice's list",
            "REMOVAL_LATER": "Patient will be removed later",
            "OTHER": "Other (text required)",
        },
        "REJECTED",
        texts={
            "DEATH_NOT_VERIFIED": "DEATH NOT VERIFIED - PLEASE CONTACT PCSE",
            "NOT_ON_LIST": "PATIENT NOT REGISTERED WITH THIS PRACTICE",
            "REMOVAL_LATER": "PATIENT WILL BE REMOVED IN 30 DAYS",
        },
        tx_types=("G5",),
        confirm=True,
        inputs=("text",),
        sends={"G5": "A refusal (F11) to the practice, with the words below"},
    ),
    Action(
        "accept_change",
        "Accept the change",
        "Apply the requested name, birth-date or sex change to PDS.",
        {"EVIDENCE_SEEN": "Evidence of the change seen", "CORRECTS_ERROR": "Corrects an error in PDS"},
        "RESOLVED",
        tx_types=("G2",),
        confirm=True,
    ),
    Action(
        "refuse_change",
        "Refuse the change",
        "Keep PDS as it is; the refusal is recorded.",
        {"PDS_CORRECT": "PDS is right", "NO_EVIDENCE": "No evidence for the change"},
        "REJECTED",
        tx_types=("G2",),
    ),
    Action(
        "remove_fp69_flag",
        "Remove the FP69 flag",
        "The practice confirmed or corrected the address: apply any new address and send the F10.",
        {"ADDRESS_CONFIRMED": "Address confirmed", "ADDRESS_CHANGED": "New address given"},
        "RESOLVED",
        # A G2 answering the notice, or no transaction: an expiry PCRM stopped because PDS changed (#12).
        tx_types=None,
        sends={ANY_TYPE: "An FP69 flag removal (F10) to the practice"},
    ),
    Action(
        "let_fp69_run",
        "Let the FP69 run",
        "The reply does not confirm the address: the notice stays and the patient is deducted at expiry.",
        {"NOT_CONFIRMED": "The address is not confirmed"},
        "CLOSED",
        tx_types=("G2",),
        confirm=True,
    ),
    Action(
        "apply_corrected_address",
        "Apply a corrected address",
        "Put a corrected version of the address into PDS.",
        {
            "CORRECTED_FROM_PAF": "Corrected from the postcode address file",
            "CONFIRMED_WITH_PRACTICE": "Confirmed with the practice",
        },
        "RESOLVED",
        tx_types=("G2",),
        inputs=("address",),
    ),
    Action(
        "reprocess",
        "Reprocess",
        "Run the processing rules again now that the cause is fixed (reference data, PDS, a passing failure).",
        {
            "REFERENCE_DATA_FIXED": "Reference data corrected",
            "PDS_FIXED": "PDS record corrected",
            "TRANSIENT_CLEARED": "The passing failure has cleared",
        },
        "CLOSED",
    ),
    Action(
        "close_no_action",
        "Close with no action",
        "Close the case; nothing is changed or sent.",
        {
            "RESOLVED_ELSEWHERE": "Resolved outside PCRM",
            "RETRANSMITTED": "The partner retransmitted",
            "NO_ACTION_NEEDED": "No action needed",
        },
        "CLOSED",
    ),
    Action(
        "escalate",
        "Escalate",
        "Pass the case to a team leader (or a named colleague); it stays open.",
        {
            "NEEDS_SENIOR": "Needs a senior decision",
            "NEEDS_NBO": "Needs the PDS National Back Office",
            "POLICY_QUESTION": "Policy question",
        },
        "",
        inputs=("to",),
    ),
)


ACTIONS: dict[str, Action] = {action.code: action for action in _DECLARED}


def get(code: str) -> Action | None:
    return ACTIONS.get(code)


def misfit(case: ExceptionCase, code: str) -> str | None:
    """Why action `code` does not fit the case's transaction now (None when it does)."""
    action = ACTIONS[code]
    if action.tx_types is None:
        return None
    tx = case.transaction
    if tx is None:
        return f"'{action.label}' needs a transaction, and this case has none"
    if tx.type not in action.tx_types:
        return f"'{action.label}' does not apply to a {tx.type} transaction"
    if tx.status != TxStatus.MANUAL:
        return f"the transaction is already {tx.get_status_display().lower()}"
    return None


def available(case: ExceptionCase) -> list[str]:
    """The actions to offer for this case now: allowed by its kind, its status and its transaction."""
    if case.status not in OPEN_STATUSES:
        return []
    return [code for code in info(case.kind).actions if misfit(case, code) is None]


def reason_label(action: str, reason_code: str) -> str:
    """A resolution's reason in the words the person chose it by ("Demographics checked: the same person"),
    not its code. `action` may carry the audit log's "case_" prefix. A code no action declares (an old
    one, or another app's) is shown as it is."""
    if not reason_code:
        return ""
    resolution = ACTIONS.get(action.removeprefix("case_"))
    return (resolution.reasons.get(reason_code) if resolution else None) or reason_code
