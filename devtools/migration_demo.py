"""The demo world's migration in progress: Berkshire (BE), still on NHAIS, half-way to PCRM.

Everything is built by our own code from the protocol: an NHAIS registration extract and link counters
(CSV, as docs/migration.md describes them), and a shadow set of GP->HA interchanges NHAIS received with the
HA->GP interchanges it sent back, built with the GP Links codec (registrations.gplinks). `load()` writes the
files and runs the same services `manage.py migration` runs: counters, the extract (valid rows only, with a
case for each PDS difference), the shadow run, and a planned date four weeks ahead.

The extract carries a few deliberate flaws (a bad check digit, an unknown GP), differences from PDS (another
surname, another practice, a number PDS does not know, the deceased) and the shadow set a few answers NHAIS
gave that PCRM would not, so the readiness page has something to show.
"""

import csv
import datetime as dt
import io
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from core.nhs_number import from_serial
from devtools.interchanges import acceptance_for, edifact, single, transaction_of
from migration.extract import COUNTER_COLUMNS, REGISTRATION_COLUMNS
from migration.services import counters, cutover, imports, shadow
from registrations.gplinks import Interchange
from registrations.models import HealthAuthority

CIPHER = "BE"
BY = "seed_demo"
PREPARED = dt.datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def demo_dir() -> Path:
    """Where the demo's files go: .run/demo-migration/BE (untracked), or PCRM_DEMO_MIGRATION_DIR (tests)."""
    chosen = os.environ.get("PCRM_DEMO_MIGRATION_DIR")
    return Path(chosen) if chosen else Path(settings.BASE_DIR) / ".run" / "demo-migration" / CIPHER


def _row(patient, practice, gp, **extra) -> dict:
    name = patient.usual_name
    address = patient.current_address
    period = patient.current_gp
    row = {
        "nhs_number": patient.nhs_number,
        "surname": name.family,
        "forenames": " ".join(name.given),
        "date_of_birth": patient.birth_date.isoformat(),
        "sex": patient.gender,
        "postcode": address.postcode if address else "",
        "practice_ods": practice.ods_code,
        "gp_national_code": gp.national_code,
        "gp_local_code": gp.local_code,
        # The demo's GP periods are random and can start before birth; NHAIS's never do.
        "acceptance_date": max(period.start if period else dt.date(2015, 1, 1), patient.birth_date).isoformat(),
        "dispensing": "N",
        "residential_institute_code": "",
        "fp69_date": "",
        "fp69_reason": "",
        "pending_deduction_date": "",
        "pending_deduction_reason": "",
    }
    row.update(extra)
    return row


def _csv(columns, rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def build_extract(practices, people, today: dt.date) -> bytes:
    """Every PDS patient registered at the HA's practices, as NHAIS would list them, with the flaws above."""
    ours = {p.ods_code: p for p in practices if p.ha.cipher == CIPHER}
    gps = {ods: list(p.gps.order_by("id")) for ods, p in ours.items()}
    listed = [p for p in people if p.current_gp and p.current_gp.practice_ods in ours]
    rows = []
    for i, patient in enumerate(listed):
        practice = ours[patient.current_gp.practice_ods]
        gp = gps[practice.ods_code][i % len(gps[practice.ods_code])]
        extra = {}
        if i % 7 == 3:
            extra["dispensing"] = "Y"
        if i % 60 == 5:
            extra["residential_institute_code"] = "RT"
        if i in (10, 11):
            extra.update(fp69_date=(today + dt.timedelta(days=90)).isoformat(), fp69_reason="8")
        if i == 12:
            extra.update(
                pending_deduction_date=(today + dt.timedelta(days=20)).isoformat(), pending_deduction_reason="13"
            )
        if i == 20:
            extra["surname"] = "SMYTHE-DIFFERENT"  # PDS knows another surname: a different person?
        if i == 21:
            other = next(o for o in ours.values() if o != practice)
            extra.update(practice_ods=other.ods_code, gp_national_code=gps[other.ods_code][0].national_code,
                         gp_local_code=gps[other.ods_code][0].local_code)  # fmt: skip
        rows.append(_row(patient, practice, gp, **extra))
    template = rows[0]
    rows.append({**template, "nhs_number": from_serial(98_000_001), "surname": "NOTINPDS"})  # PDS has no record
    rows.append({**template, "nhs_number": "9434765918"})  # fails its check digit
    rows.append({**template, "nhs_number": from_serial(98_000_101), "gp_national_code": "9999999"})  # unknown GP
    return _csv(REGISTRATION_COLUMNS, rows)


class _Traffic:
    """The two directions of a link's traffic, numbered as NHAIS and the practices numbered them."""

    def __init__(self, ha: HealthAuthority):
        self.ha = ha
        self.inbound: list[Interchange] = []
        self.outbound: list[Interchange] = []
        self.sis_in: dict[str, int] = {}
        self.sis_out: dict[str, int] = {}
        self.ha_tn = 40_000

    def _interchange(self, counters_by_link, base: int, sender: str, recipient: str, txs) -> Interchange:
        link = recipient if sender == self.ha.link_code else sender
        sis = counters_by_link[link] = counters_by_link.get(link, base) + 1
        return single(sender, recipient, sis, PREPARED, txs, cipher=self.ha.cipher)

    def gp_sends(self, practice, tx: dict) -> None:
        self.inbound.append(self._interchange(self.sis_in, 4100, practice.link_code, self.ha.link_code, [tx]))

    def nhais_sends(self, practice, kind: str, tx: dict) -> None:
        if kind not in ("F3", "F4"):
            self.ha_tn += 1
            tx = {**tx, "tn": self.ha_tn}
        self.outbound.append(
            self._interchange(self.sis_out, 7200, self.ha.link_code, practice.link_code, [{**tx, "type": kind}])
        )


def build_shadow_set(practices, people) -> _Traffic:
    """A month of the HA's GP Links traffic and NHAIS's answers: mostly what PCRM would do too."""
    ha = HealthAuthority.objects.get(cipher=CIPHER)
    ours = [p for p in practices if p.ha.cipher == CIPHER]
    at_ours = {p.ods_code for p in ours}
    alive = [p for p in people if not p.death_date and not p.sensitive and p.current_gp]
    # Patients from the back half of each list, well clear of those the MESH backlog uses (at any population).
    elsewhere = [p for p in alive if p.current_gp.practice_ods not in at_ours]
    movers = elsewhere[len(elsewhere) // 2 :][:12]
    home = [p for p in alive if p.current_gp.practice_ods in at_ours]
    spare = iter(home[len(home) // 2 :])
    traffic = _Traffic(ha)
    tn = iter(range(5001, 9000))

    def practice_of(patient):
        return next(p for p in ours if p.ods_code == patient.current_gp.practice_ods)

    for i, patient in enumerate(movers):  # transfers in: approved by both, except where noted
        practice = ours[i % len(ours)]
        gp = practice.gps.first()
        if i == 0:
            tx = acceptance_for(patient, gp, next(tn), free_text="PATIENT IS A CARER FOR HER MOTHER")
            traffic.gp_sends(practice, tx)
            traffic.nhais_sends(practice, "F4", {"tn": tx["tn"], "gp_code": gp.gp_code, "nhs_number": None})
            continue
        tx = acceptance_for(patient, gp, next(tn))
        traffic.gp_sends(practice, tx)
        if i != 1:  # NHAIS's answer to this one is outside the period: unmatched
            traffic.nhais_sends(practice, "F4", {"tn": tx["tn"], "gp_code": gp.gp_code, "nhs_number": None})
    for patient in [next(spare) for _ in range(2)]:  # moves within the HA: F4, and F2 reason 3 to the practice left
        left = practice_of(patient)
        practice = next(p for p in ours if p != left)
        gp = practice.gps.first()
        tx = acceptance_for(
            patient,
            gp,
            next(tn),
            acceptance_type="3",
            previous_gp="DR PREVIOUS",
            previous_address=["1 OLD ROAD", "READING"],
        )
        traffic.gp_sends(practice, tx)
        traffic.nhais_sends(practice, "F4", {"tn": tx["tn"], "gp_code": gp.gp_code, "nhs_number": None})
        traffic.nhais_sends(
            left,
            "F2",
            {"gp_code": left.gps.first().gp_code, "nhs_number": patient.nhs_number, "deduction_reason": "3",
             "deduction_date": tx["acceptance_date"]},
        )  # fmt: skip
    for patient in [next(spare) for _ in range(4)]:  # address changes: neither system answers the practice
        practice = practice_of(patient)
        address = {"house": "", "road": "12 NEW ROAD", "locality": "", "post_town": "READING", "county": "",
                   "postcode": "RG1 7AB"}  # fmt: skip
        traffic.gp_sends(
            practice, transaction_of(next(tn), "G2", practice.gps.first(), patient.nhs_number, address=address)
        )
    dead = [p for p in people if p.death_date and p.current_gp and p.current_gp.practice_ods in at_ours]
    for patient in dead[:2]:  # deaths PDS knows: deducted by both
        practice = practice_of(patient)
        gp = practice.gps.first()
        on = patient.death_date.isoformat()
        traffic.gp_sends(
            practice, transaction_of(next(tn), "G5", gp, patient.nhs_number, deduction_reason="1", deduction_date=on)
        )
        traffic.nhais_sends(
            practice,
            "F2",
            {"gp_code": gp.gp_code, "nhs_number": patient.nhs_number, "deduction_reason": "1", "deduction_date": on},
        )
    patient = next(spare)  # emigrated: deducted by both
    practice, gp = practice_of(patient), practice_of(patient).gps.first()
    traffic.gp_sends(
        practice,
        transaction_of(next(tn), "G5", gp, patient.nhs_number, deduction_reason="5", deduction_date="2026-11-01"),
    )
    traffic.nhais_sends(
        practice,
        "F2",
        {
            "gp_code": gp.gp_code,
            "nhs_number": patient.nhs_number,
            "deduction_reason": "5",
            "deduction_date": "2026-11-01",
        },
    )
    patient = next(spare)  # "other reason": NHAIS refused it outright, PCRM would ask a person
    practice, gp = practice_of(patient), practice_of(patient).gps.first()
    traffic.gp_sends(
        practice,
        transaction_of(
            next(tn),
            "G5",
            gp,
            patient.nhs_number,
            deduction_reason="13",
            deduction_date="2026-11-02",
            free_text="LEFT THE AREA",
        ),
    )
    traffic.nhais_sends(
        practice,
        "F11",
        {"gp_code": gp.gp_code, "nhs_number": patient.nhs_number, "free_text": "PATIENT WILL BE REMOVED IN 30 DAYS"},
    )
    patient = next(spare)  # out of area: neither system deducts within the period
    practice, gp = practice_of(patient), practice_of(patient).gps.first()
    traffic.gp_sends(
        practice, transaction_of(next(tn), "G3", gp, patient.nhs_number, free_text="PATIENT MOVED TO LEEDS")
    )
    return traffic


def build_counters(traffic: _Traffic, practices) -> bytes:
    rows = []
    for practice in practices:
        if practice.ha.cipher != CIPHER:
            continue
        code = practice.link_code
        last_in, last_out = traffic.sis_in.get(code, 4100), traffic.sis_out.get(code, 7200)
        rows.append(
            {
                "link_code": code,
                "last_sis_sent": last_out,
                "last_sms_sent": last_out,
                "last_sis_received": last_in,
                "last_sms_received": last_in,
                "last_tn_sent": "",
            }  # fmt: skip
        )
    rows.append(
        {
            "link_code": traffic.ha.link_code,
            "last_sis_sent": "",
            "last_sms_sent": "",
            "last_sis_received": "",
            "last_sms_received": "",
            "last_tn_sent": traffic.ha_tn,
        }  # fmt: skip
    )
    return _csv(COUNTER_COLUMNS, rows)


def _write(directory: Path, sent: list[Interchange]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.edi"):
        old.unlink()
    for n, ic in enumerate(sent, start=1):
        (directory / f"{n:04d}-{ic.sender}-{ic.recipient}-{ic.sis}.edi").write_bytes(edifact(ic))


def load(practices, people, directory: Path | None = None) -> dict:
    """Write the demo files and run counters, import and shadow on them; the figures each reported."""
    directory = directory or demo_dir()
    directory.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    ha = HealthAuthority.objects.get(cipher=CIPHER)
    traffic = build_shadow_set(practices, people)
    _write(directory / "inbound", traffic.inbound)
    _write(directory / "nhais-outbound", traffic.outbound)
    (directory / "counters.csv").write_bytes(build_counters(traffic, practices))
    (directory / "extract.csv").write_bytes(build_extract(practices, people, today))
    counted = counters.import_counters(ha, (directory / "counters.csv").read_bytes(), file_name="counters.csv", by=BY)
    imported = imports.import_registrations(
        ha,
        (directory / "extract.csv").read_bytes(),
        file_name="extract.csv",
        by=BY,
        skip_invalid=True,
        open_cases=True,
        today=today,
    )
    run = shadow.run_shadow(ha, directory / "inbound", directory / "nhais-outbound", by=BY)
    cutover.plan(ha, today + dt.timedelta(days=28), by=BY)
    return {"counters": counted.counters_json(), "import": imported.as_json(), "shadow": shadow.as_json(run)}
