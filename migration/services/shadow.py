"""Shadow run: PCRM decides an HA's GP->HA traffic without any effect and is compared with NHAIS's answers.

Every G transaction the GP systems sent NHAIS for the HA is decided by `registrations.rules.decide`, the
same function live processing uses, inside a database savepoint that treats the HA as cut over and is
always rolled back: nothing is applied, nothing is sent, no case reaches the queue (`decide` writes
nothing anyway; the rollback makes sure of it). The decisions are then compared with what NHAIS sent back:

    G1   F4 / F3 matched by (GP link code, GP transaction number)   PCRM: F4, F3 or a person
    G5   F2 by (NHS number, practice) with its reason, else F11     PCRM: F2 with a reason, or a person
    G3   F2 by (NHS number, practice)                                PCRM: a person, or a held F2
    G2   F1 by (NHS number, practice)                                PCRM: no answer, or a person

Verdicts: *agreed* when both gave the same answer to the practice (type and, for F2, reason; a person's
review and "no answer" agree with NHAIS sending nothing for G2 and G3); *disagreed* when the answers
differ; *unmatched* when NHAIS sent nothing to compare with where an answer was due. Results are stored
apart from the live interchange log (ShadowResult), with PCRM's rule trace beside NHAIS's answer.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from registrations.gplinks import CodecError, parse_interchange, to_json
from registrations.models import HealthAuthority, Interchange, Link, Message, Transaction
from registrations.rules import decide

from ..models import ShadowResult, ShadowRun, Verdict
from . import audit

log = logging.getLogger(__name__)

GP_TYPES = ("G1", "G2", "G3", "G5")
EXPECTS_ANSWER = {"G1", "G5"}
NONE, PERSON = "none", "person"


class _RollBack(Exception):
    pass


@dataclass
class Inbound:
    """One GP->HA transaction as read from a file, with the link it came in on."""

    sender: str
    recipient: str
    sis: int
    sms: int
    data: dict
    link: Link | None
    practice_ods: str = ""

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def nhs_number(self) -> str:
        return self.data.get("nhs_number") or ""


@dataclass
class Answers:
    """NHAIS's HA->GP transactions, indexed the way each G type is answered; each answer is claimed once."""

    by_tn: dict[tuple[str, int], list[dict]] = field(default_factory=lambda: defaultdict(list))
    by_patient: dict[tuple[str, str, str], list[dict]] = field(default_factory=lambda: defaultdict(list))

    def add(self, recipient: str, tx: dict) -> None:
        entry = {"type": tx["type"], "tn": tx["tn"], "link": recipient, **_answer_items(tx)}
        if tx["type"] in ("F3", "F4"):
            self.by_tn[(recipient, tx["tn"])].append(entry)
        elif tx.get("nhs_number"):
            self.by_patient[(tx["type"], tx["nhs_number"], recipient)].append(entry)

    def claim_tn(self, link: str, tn: int) -> dict | None:
        found = self.by_tn.get((link, tn))
        return found.pop(0) if found else None

    def claim_patient(self, kinds: tuple[str, ...], nhs_number: str, link: str) -> dict | None:
        for kind in kinds:
            found = self.by_patient.get((kind, nhs_number, link))
            if found:
                return found.pop(0)
        return None


def _answer_items(tx: dict) -> dict:
    keep = ("nhs_number", "deduction_reason", "deduction_date", "free_text", "new_ha")
    return {k: tx[k] for k in keep if tx.get(k) is not None}


def read_dir(directory: Path, cipher: str, unread: list[dict]) -> list[tuple[str, dict]]:
    """(file name, interchange as codec JSON) for each readable interchange file, in name order."""
    out = []
    for path in sorted(p for p in Path(directory).iterdir() if p.is_file()):
        try:
            parsed = to_json(parse_interchange(path.read_bytes()))
        except CodecError as exc:
            unread.append({"file": path.name, "error": str(exc)[:200]})
            continue
        if "recep" in parsed:
            continue
        parsed["messages"] = [m for m in parsed["messages"] if m["ha_cipher"] == cipher]
        out.append((path.name, parsed))
    return out


def run_shadow(ha: HealthAuthority, inbound_dir: Path, nhais_dir: Path, *, by: str, user=None) -> ShadowRun:
    unread: list[dict] = []
    inbound_files = read_dir(inbound_dir, ha.cipher, unread)
    nhais_files = read_dir(nhais_dir, ha.cipher, unread)
    links = {link.practice.link_code: link for link in Link.objects.select_related("practice", "ha").filter(ha=ha)}
    inbound = [
        Inbound(
            sender=ic["sender"],
            recipient=ic["recipient"],
            sis=ic["sis"],
            sms=msg["sms"],
            data=tx,
            link=links.get(ic["sender"]),
            practice_ods=links[ic["sender"]].practice.ods_code if ic["sender"] in links else "",
        )
        for _, ic in inbound_files
        for msg in ic["messages"]
        if msg["type"] in GP_TYPES
        for tx in msg["transactions"]
    ]
    answers = Answers()
    for _, ic in nhais_files:
        for msg in ic["messages"]:
            for tx in msg["transactions"]:
                answers.add(ic["recipient"], tx)
    decided = _decide_without_effect(ha, inbound)
    run = ShadowRun(ha=ha, by=by, inbound_files=len(inbound_files), nhais_files=len(nhais_files), unread=unread)
    results = [_compare(item, outcome, answers) for item, outcome in zip(inbound, decided, strict=True)]
    by_type: dict[str, dict[str, int]] = {}
    for result in results:
        counts = by_type.setdefault(result.type, {"transactions": 0, "agreed": 0, "disagreed": 0, "unmatched": 0})
        counts["transactions"] += 1
        counts[result.verdict] += 1
    run.transactions = len(results)
    run.agreed = sum(1 for r in results if r.verdict == Verdict.AGREED)
    run.disagreed = sum(1 for r in results if r.verdict == Verdict.DISAGREED)
    run.unmatched = sum(1 for r in results if r.verdict == Verdict.UNMATCHED)
    run.by_type = dict(sorted(by_type.items()))
    with transaction.atomic():
        run.save()
        for result in results:
            result.run = run
        ShadowResult.objects.bulk_create(results)
        audit.record("migration_shadow_run", ha, by=by, user=user, detail=as_json(run))
    return run


def as_json(run: ShadowRun) -> dict:
    return {
        "transactions": run.transactions,
        "agreed": run.agreed,
        "disagreed": run.disagreed,
        "unmatched": run.unmatched,
        "agreement": run.agreement,
        "by_type": run.by_type,
    }


@dataclass
class Decided:
    answer: str
    outcome: str
    summary: str = ""
    case_kind: str = ""
    trace: list = field(default_factory=list)
    practice_ods: str = ""
    # An approval also deducts the patient from the practice they leave; when that practice is on this HA's
    # links NHAIS's F2 to it is in the set too: (its link code, NHS number, reason).
    old_practice_f2: tuple[str, str, str] | None = None


def _decide_without_effect(ha: HealthAuthority, inbound: list[Inbound]) -> list[Decided]:
    """Decide each transaction as if the HA were cut over, then undo everything."""
    decided: list[Decided] = []
    try:
        with transaction.atomic():
            # Seen only inside this savepoint: rules answer on links of an HA PCRM serves.
            HealthAuthority.objects.filter(pk=ha.pk).update(migrated=True, cutover_date=None)
            for item in inbound:
                decided.append(_decide_one(item, ha))
            raise _RollBack
    except _RollBack:
        pass
    return decided


def _decide_one(item: Inbound, ha: HealthAuthority) -> Decided:
    interchange = Interchange(sender=item.sender, recipient=item.recipient, sis=item.sis, link=item.link)
    message = Message(interchange=interchange, sms=item.sms, type=item.type, ha_cipher=ha.cipher)
    tx = Transaction(
        message=message,
        sender=item.sender,
        recipient=item.recipient,
        sis=item.sis,
        sms=item.sms,
        tn=item.data["tn"],
        type=item.type,
        data=item.data,
        nhs_number=item.nhs_number,
        gp_code=item.data.get("gp_code") or "",
    )
    try:
        with transaction.atomic():
            decision = decide(tx)
    except Exception as exc:  # a rule that fails here would fail live too: report it, do not stop the run
        log.warning("shadow decision failed", extra={"type": item.type, "error": type(exc).__name__})
        return Decided(answer="error", outcome="ERROR", summary=f"PCRM could not decide: {type(exc).__name__}")
    outcome = decision.outcome
    return Decided(
        answer=_pcrm_answer(outcome),
        outcome=str(outcome.status),
        summary=outcome.summary,
        case_kind=str(outcome.case_kind or ""),
        trace=list(decision.trace.steps),
        practice_ods=outcome.practice_ods,
        old_practice_f2=_old_practice_f2(outcome, ha),
    )


def _old_practice_f2(outcome, ha: HealthAuthority) -> tuple[str, str, str] | None:
    """The F2 an approval sends the practice the patient leaves, when that practice is on this HA's links
    (the reason as apply chooses it: 3 within the HA, the restricted-record reason for an S-flagged one)."""
    approve = next((e for e in outcome.effects if type(e).__name__ == "Approve"), None)
    if approve is None:
        return None
    previous = approve.patient.gp_practice
    if not previous or previous == approve.gp.practice.ods_code:
        return None
    old = Link.objects.select_related("practice").filter(ha=ha, practice__ods_code=previous).first()
    if old is None:
        return None
    reason = settings.SENSITIVE_TRANSFER_DEDUCTION_REASON if approve.patient.sensitive else "3"
    return old.practice.link_code, approve.patient.nhs_number, reason


def _pcrm_answer(outcome) -> str:
    """What PCRM would have sent the practice automatically for this transaction."""
    if outcome.case_kind:
        return PERSON
    for effect in outcome.effects:
        kind = type(effect).__name__
        if kind == "Approve":
            return "F4"
        if kind == "RejectAcceptance":
            return "F3"
        if kind in ("Deduct", "HoldDeduction"):
            return f"F2 reason {effect.reason}"
    return NONE


def _nhais_answer(item: Inbound, answers: Answers) -> dict | None:
    link = item.sender
    if item.type == "G1":
        return answers.claim_tn(link, item.data["tn"])
    if not item.nhs_number:
        return None
    kinds = {"G2": ("F1",), "G3": ("F2",), "G5": ("F2", "F11")}[item.type]
    return answers.claim_patient(kinds, item.nhs_number, link)


def _describe(answer: dict | None) -> str:
    if answer is None:
        return NONE
    if answer["type"] == "F2":
        return f"F2 reason {answer.get('deduction_reason', '?')}"
    return answer["type"]


def _old_practice(decided: Decided, answers: Answers, nhais: dict) -> tuple[str, str]:
    """Both approved: do they also agree on the F2 to the practice the patient left (when it is in the set)?"""
    if decided.old_practice_f2 is None:
        return Verdict.AGREED, "Both sent the same answer."
    link, nhs_number, reason = decided.old_practice_f2
    deduction = answers.claim_patient(("F2",), nhs_number, link)
    if deduction is None:
        return Verdict.AGREED, f"Both approved; NHAIS's F2 to the old practice ({link}) is not in the set."
    nhais["old_practice_f2"] = deduction
    if deduction.get("deduction_reason") == reason:
        return Verdict.AGREED, f"Both approved and deducted from the old practice ({link}) with reason {reason}."
    return (
        Verdict.DISAGREED,
        f"Both approved, but PCRM would deduct from the old practice ({link}) with reason {reason}; "
        f"NHAIS used reason {deduction.get('deduction_reason', '?')}.",
    )


def _compare(item: Inbound, decided: Decided, answers: Answers) -> ShadowResult:
    nhais = _nhais_answer(item, answers)
    nhais_answer = _describe(nhais)
    if nhais is None:
        quiet = decided.answer in (NONE, PERSON) and item.type not in EXPECTS_ANSWER
        verdict = Verdict.AGREED if quiet else Verdict.UNMATCHED
        note = "Neither answered the practice automatically." if quiet else "NHAIS sent no answer to compare with."
    elif decided.answer == nhais_answer:
        verdict, note = _old_practice(decided, answers, nhais)
    else:
        verdict = Verdict.DISAGREED
        if decided.answer == PERSON:
            note = f"PCRM would ask a person ({decided.case_kind}); NHAIS sent {nhais_answer}."
        else:
            note = f"PCRM would send {decided.answer}; NHAIS sent {nhais_answer}."
    return ShadowResult(
        type=item.type,
        sender=item.sender,
        sis=item.sis,
        tn=item.data["tn"],
        nhs_number=item.nhs_number[:15],
        practice_ods=decided.practice_ods or item.practice_ods,
        verdict=verdict,
        pcrm_answer=decided.answer if decided.answer != PERSON else f"person: {decided.case_kind}",
        pcrm_outcome=decided.outcome,
        pcrm_summary=decided.summary,
        case_kind=decided.case_kind,
        rule_trace=decided.trace,
        nhais_answer=nhais_answer,
        nhais_detail=nhais or {},
        note=note,
    )
