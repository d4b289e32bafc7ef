"""`bench rules`: the share of GP Links transactions PCRM decides without a person, per type.

Two measurements, each in a scratch database, through the real ingest and processing code (store the
interchange, parse, decide, apply, queue replies):

- **demo**: the `seed_demo` world and its MESH backlog (3,000 PDS patients; a private MESH sandbox),
  which is built to raise one case of every kind, so it is a floor, not an estimate;
- **synthetic**: a seeded mix of N transactions shaped like national traffic, with the data-quality
  problems a back office meets at rates we assume (there are no public exception rates; see MIX).

"Automatic" means DONE (applied, replies queued) or REJECTED by rule (an F3 for a wrong HA): no
person touched it. Forwarded traffic (an HA still on NHAIS) is not PCRM's decision and is left out.
"""

import datetime as dt
import io
import random
import time
from collections import Counter, defaultdict

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from devtools.harness import MeshSandbox
from devtools.interchanges import acceptance_for, edifact, interchange, message, single, transaction_of
from registrations.models import GP, HealthAuthority, Link, Practice, Transaction

AUTOMATIC = ("DONE", "REJECTED")
PREPARED = dt.datetime(2026, 11, 3, 9, 0, tzinfo=dt.UTC)

# Per 1,000 transactions: (type, scenario, weight, what the National Back Office would expect).
# Type shares follow the national load model (workqueue-reliability-performance 3.2: ~6M registrations,
# 5-10M address changes a year, far fewer removals and deduction requests). Problem rates within a type
# are our assumptions, chosen so that 2-5 % of all traffic would be a data-quality exception.
MIX = [
    ("G1", "transfer", 255, "auto"),
    ("G1", "transfer, surname typo", 15, "auto"),
    ("G1", "birth", 30, "auto"),
    ("G1", "no NHS number, traced", 25, "auto"),
    ("G1", "internal transfer (I)", 10, "auto"),
    ("G1", "superseded number", 5, "auto"),
    ("G1", "wrong HA", 4, "auto"),
    ("G1", "no NHS number, new to PDS", 8, "NHS_NUMBER_ALLOCATION"),
    ("G1", "GP notes", 20, "FREE_TEXT"),
    ("G1", "disputed deduction (D)", 6, "ACCEPTANCE_CHECK"),
    ("G1", "wrong birth date", 8, "DEMOGRAPHIC_MISMATCH"),
    ("G1", "mistyped NHS number", 6, "NO_TRACE"),
    ("G1", "already registered", 4, "ALREADY_REGISTERED"),
    ("G1", "deceased", 2, "DECEASED"),
    ("G1", "sensitive", 2, "SENSITIVE"),
    ("G2", "address", 385, "auto"),
    ("G2", "bad postcode", 8, "INVALID_ADDRESS"),
    ("G2", "name change", 22, "DEMOGRAPHIC_CHANGE"),
    ("G2", "birth date correction", 3, "DEMOGRAPHIC_CHANGE"),
    ("G2", "FP69 reply", 7, "FP69_RESPONSE"),
    ("G2", "from a practice the patient left", 5, "CONFLICTING_REGISTRATION"),
    ("G3", "out of area", 40, "REMOVAL_REVIEW"),
    ("G5", "death known to PDS", 80, "auto"),
    ("G5", "emigrated", 20, "auto"),
    ("G5", "death not in PDS", 20, "DEDUCTION_REVIEW"),
    ("G5", "other reason", 10, "DEDUCTION_REVIEW"),
]
SURNAMES = ["ROBINSON", "THOMPSON", "ANDERSON", "HARRISON", "MITCHELL", "RICHARDS", "CAMPBELL", "JOHNSTON"]
FORENAMES = ["OLIVIA", "AMELIA", "GEORGE", "ARTHUR", "MARGARET", "PATRICIA", "MICHAEL", "THOMAS"]


def run(options: dict) -> dict:
    n = options.get("size") or 1000
    creation = connection.creation
    # Named after this installation's database, so two installations on one server never share it.
    connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_bench_rules"
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    sandbox = MeshSandbox()
    settings.MESH_URL = sandbox.url
    try:
        demo = _demo()
        call_command("flush", interactive=False, verbosity=0)
        synthetic = _synthetic(n)
        call_command("flush", interactive=False, verbosity=0)
        adversarial = _adversarial(options.get("adversarial") or ADVERSARIAL_EACH)
        return {"demo": demo, "synthetic": synthetic, "adversarial": adversarial}
    finally:
        sandbox.stop()
        creation.destroy_test_db(old_name, verbosity=0)


def _decide_all(interchange_ids: list[int]) -> float:
    from registrations.services import inbound, processing

    start = time.perf_counter()
    for pk in interchange_ids:
        for tx_id in inbound.ingest_interchange(pk).new_transaction_ids:
            processing.process_transaction(tx_id)
    return time.perf_counter() - start


def _rates(transactions) -> dict:
    by_type: dict[str, Counter] = defaultdict(Counter)
    kinds: Counter = Counter()
    for tx in transactions:
        by_type[tx.type]["total"] += 1
        by_type[tx.type]["auto"] += tx.status in AUTOMATIC
        kinds.update(c.kind for c in tx.cases.all() if c.status in ("OPEN", "IN_PROGRESS"))
    total = sum(c["total"] for c in by_type.values())
    auto = sum(c["auto"] for c in by_type.values())
    return {
        "transactions": total,
        "automatic": auto,
        "auto_rate": round(auto / total, 3) if total else None,
        "per_type": {
            t: {"total": c["total"], "automatic": c["auto"], "auto_rate": round(c["auto"] / c["total"], 3)}
            for t, c in sorted(by_type.items())
        },
        "cases_by_kind": dict(sorted(kinds.items())),
    }


def _demo() -> dict:
    from registrations.services import inbound

    call_command("seed_demo", patients=3000, verbosity=0, stdout=io.StringIO())
    stored: list[int] = []
    while result := inbound.poll_inbox(on_stored=stored.append):
        if not result.stored:
            break
    elapsed = _decide_all(stored)
    decided = Transaction.objects.exclude(status="FORWARDED").prefetch_related("cases")
    figures = _rates(decided)
    figures["seconds"] = round(elapsed, 2)
    return figures


# --- the synthetic mix ------------------------------------------------------------------------------


class World:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.serial = 0
        self.tn = 0
        ha = {}
        for cipher in ("BAA", "COV"):
            HealthAuthority.objects.filter(cipher=cipher).update(migrated=True, cutover_date=None)
            ha[cipher] = HealthAuthority.objects.get(cipher=cipher)
        self.practices = []
        for i in range(10):
            cipher = "BAA" if i < 6 else "COV"
            practice = Practice.objects.create(
                ods_code=f"R{i:05d}",
                name=f"Bench {i}",
                ha=ha[cipher],
                link_code=f"RB{i}5",
                mesh_mailbox=f"GPMB{i + 1:05d}",
            )
            for g in range(2):
                GP.objects.create(
                    national_code=f"{4700000 + i * 10 + g}", local_code=f"{i * 10 + g + 1}", practice=practice
                )
            Link.objects.create(practice=practice, ha=ha[cipher])
            self.practices.append(practice)

    def other(self, practice: Practice) -> Practice:
        return self.rng.choice([p for p in self.practices if p.pk != practice.pk])

    def patient(self, registered_at: str | None, **kw):
        from core.nhs_number import from_serial
        from pds.models import GPPeriod, Patient, PatientAddress, PatientName

        self.serial += 1
        rng = self.rng
        patient = Patient.objects.create(
            nhs_number=from_serial(60_000_000 + self.serial * 7),
            gender=rng.choice("12"),
            birth_date=kw.pop("birth_date", dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(30_000))),
            place_of_birth="LEEDS",
            **kw,
        )
        PatientName.objects.create(
            patient=patient,
            family=rng.choice(SURNAMES),
            given=[rng.choice(FORENAMES)],
            prefix="",
        )
        PatientAddress.objects.create(
            patient=patient,
            road=f"{rng.randrange(1, 300)} MILL LANE",
            post_town="LEEDS",
            postcode=f"LS{rng.randrange(1, 28)} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
            start=dt.date(2012, 1, 1),
        )
        if registered_at:
            GPPeriod.objects.create(patient=patient, practice_ods=registered_at, start=dt.date(2015, 1, 1))
        return Patient.objects.prefetch_related("names", "addresses", "gp_periods").get(pk=patient.pk)

    def next_tn(self) -> int:
        self.tn += 1
        return self.tn


def _acceptance(world: World, gp: GP, patient, **items) -> dict:
    return acceptance_for(patient, gp, world.next_tn(), **items)


def _other(world: World, kind: str, gp: GP, patient, **items) -> dict:
    return transaction_of(world.next_tn(), kind, gp, patient.nhs_number, **items)


# Complexity exemption (C901): one branch per benchmark scenario, read as a table


def _scenario(world: World, name: str, practice: Practice) -> tuple[dict, str]:  # noqa: C901
    """One transaction for `practice` in the given scenario, with the PDS state it needs."""
    from pds.services import merge_patients, record_death
    from registrations.services import fp69

    rng = world.rng
    gp = practice.gps.first()
    elsewhere = world.other(practice).ods_code
    cipher = practice.ha.cipher
    if name == "transfer":
        return _acceptance(world, gp, world.patient(elsewhere)), cipher
    if name == "transfer, surname typo":
        patient = world.patient(elsewhere)
        family = patient.usual_name.family
        i = rng.randrange(1, len(family) - 1)
        return _acceptance(world, gp, patient, surname=family[:i] + "E" + family[i + 1 :]), cipher
    if name == "birth":
        baby = world.patient(None, birth_date=dt.date(2026, 10, rng.randrange(1, 28)))
        return _acceptance(world, gp, baby), cipher
    if name == "no NHS number, traced":
        kind = rng.choice("24")
        immigrant = {"entry_date": "2026-09-01"} if kind == "4" else {}
        patient = world.patient(rng.choice([None, elsewhere]))
        tx = _acceptance(world, gp, patient, nhs_number=None, acceptance_type=kind, place_of_birth="LEEDS", **immigrant)
        return tx, cipher
    if name == "internal transfer (I)":
        patient = world.patient(practice.ods_code)
        return _acceptance(world, practice.gps.last(), patient, acceptance_code="I"), cipher
    if name == "superseded number":
        retained = world.patient(elsewhere)
        duplicate = world.patient(None)
        tx = _acceptance(world, gp, retained, nhs_number=duplicate.nhs_number)
        merge_patients(
            retained=retained,
            duplicate=duplicate,
            retained_version=None,
            duplicate_version=None,
            by="bench",
            reason="bench",
        )
        return tx, cipher
    if name == "wrong HA":
        return _acceptance(world, gp, world.patient(elsewhere)), "COV" if cipher == "BAA" else "BAA"
    if name == "no NHS number, new to PDS":
        return {
            **_acceptance(
                world,
                gp,
                world.patient(None),
                nhs_number=None,
                acceptance_type="4",
                entry_date="2026-09-01",
                place_of_birth="LAGOS",
            ),
            "surname": f"NEWCOMER{world.serial}",
            "birth_date": "1999-01-01",
        }, cipher
    if name == "GP notes":
        return _acceptance(world, gp, world.patient(elsewhere), free_text="PATIENT NEEDS A CARER"), cipher
    if name == "disputed deduction (D)":
        return _acceptance(world, gp, world.patient(elsewhere), acceptance_code="D"), cipher
    if name == "wrong birth date":
        patient = world.patient(elsewhere)
        return _acceptance(world, gp, patient, birth_date=(patient.birth_date.replace(year=1931)).isoformat()), cipher
    if name == "mistyped NHS number":
        patient = world.patient(elsewhere)
        return _acceptance(world, gp, patient, nhs_number="9990000018"), cipher
    if name == "already registered":
        return _acceptance(world, gp, world.patient(practice.ods_code)), cipher
    if name == "deceased":
        patient = world.patient(elsewhere, death_date=dt.date(2025, 1, 1), death_status="formal")
        return _acceptance(world, gp, patient), cipher
    if name == "sensitive":
        return _acceptance(world, gp, world.patient(elsewhere, sensitive=True)), cipher
    here = world.patient(practice.ods_code)
    address = {
        "house": "",
        "road": f"{rng.randrange(1, 300)} STATION ROAD",
        "locality": "",
        "post_town": "LEEDS",
        "county": "",
        "postcode": f"LS{rng.randrange(1, 28)} 4AB",
    }
    if name == "address":
        return _other(world, "G2", gp, here, address=address), cipher
    if name == "bad postcode":
        return _other(world, "G2", gp, here, address={**address, "postcode": "LS99"}), cipher
    if name == "name change":
        return _other(world, "G2", gp, here, surname="MARRIED", previous_surname=here.usual_name.family), cipher
    if name == "birth date correction":
        return _other(world, "G2", gp, here, birth_date=(here.birth_date - dt.timedelta(days=1)).isoformat()), cipher
    if name == "FP69 reply":
        fp69.mark_returned_mail(here.nhs_number, by="bench")
        return _other(world, "G2", gp, here, free_text="PATIENT CONFIRMS ADDRESS"), cipher
    if name == "from a practice the patient left":
        return _other(world, "G2", gp, world.patient(elsewhere), address=address), cipher
    if name == "out of area":
        return _other(world, "G3", gp, here, free_text="PATIENT MOVED 30 MILES AWAY"), cipher
    if name == "death known to PDS":
        record_death(
            here, date=dt.date(2026, 10, 20), status="formal", expected_version=None, by="bench", reason="bench"
        )
        return _other(world, "G5", gp, here, deduction_reason="1", deduction_date="2026-10-20"), cipher
    if name == "emigrated":
        return _other(world, "G5", gp, here, deduction_reason="5", deduction_date="2026-10-01"), cipher
    if name == "death not in PDS":
        return _other(world, "G5", gp, here, deduction_reason="1", deduction_date="2026-10-20"), cipher
    if name == "other reason":
        return _other(
            world, "G5", gp, here, deduction_reason="13", deduction_date="2026-10-20", free_text="LEFT THE AREA"
        ), cipher
    raise ValueError(name)


def _synthetic(n: int) -> dict:
    from registrations.services import inbound

    rng = random.Random(20261121)
    world = World(rng)
    names = [s for _, s, _, _ in MIX]
    weights = [w for _, _, w, _ in MIX]
    expected = {s: e for _, s, _, e in MIX}
    batches: dict[tuple, list] = defaultdict(list)
    scenario_of: dict[tuple, str] = {}
    for _ in range(n):
        name = rng.choices(names, weights)[0]
        practice = rng.choice(world.practices)
        tx, cipher = _scenario(world, name, practice)
        batches[(practice.pk, cipher)].append(tx)
        scenario_of[(practice.link_code, tx["tn"])] = name
    sis: Counter = Counter()
    stored = []
    for (practice_pk, cipher), txs in batches.items():
        practice = next(p for p in world.practices if p.pk == practice_pk)
        for start in range(0, len(txs), 50):
            chunk = txs[start : start + 50]
            sis[practice.link_code] += 1
            by_type = defaultdict(list)
            for tx in chunk:
                by_type[tx["type"]].append(tx)
            number = sis[practice.link_code]
            messages = [
                message(number * 10 + i, group, cipher=cipher) for i, (_, group) in enumerate(sorted(by_type.items()))
            ]
            body = edifact(interchange(practice.link_code, practice.ha.link_code, number, PREPARED, messages))
            row, _ = inbound.store_inbound(
                mesh_message_id=f"bench-{practice.link_code}-{sis[practice.link_code]}",
                body=body,
                workflow="NHAIS_REG",
                message_type="DATA",
                sender=practice.mesh_mailbox,
                recipient="PCRMHUB01",
            )
            stored.append(row.pk)
    elapsed = _decide_all(stored)
    decided = list(Transaction.objects.exclude(status="FORWARDED").prefetch_related("cases"))
    figures = _rates(decided)
    # How often the decision was the one the scenario calls for (auto, or the expected case kind).
    agree: Counter = Counter()
    for tx in decided:
        name = scenario_of[(tx.sender, tx.tn)]
        want = expected[name]
        got = "auto" if tx.status in AUTOMATIC else next((c.kind for c in tx.cases.all()), tx.status)
        agree[(name, got == want)] += 1
    figures["decided_as_expected"] = round(sum(v for (_, ok), v in agree.items() if ok) / len(decided), 3)
    figures["unexpected"] = {name: v for (name, ok), v in sorted(agree.items()) if not ok}
    figures["seconds"] = round(elapsed, 2)
    figures["decisions_per_s"] = round(len(decided) / elapsed, 1)
    return figures


# --- the adversarial population (#12) -----------------------------------------------------------------
# Each scenario sets a trap: the practice means one person, and PDS also holds someone easily taken for
# them. "wrongly_applied" counts automatic changes made to anyone but the person meant; it must be 0.
# Expected: "auto" when certain identity allows PCRM to act alone, "case" when a person must look.

ADVERSARIAL_EACH = 20
ADVERSARIAL = [
    ("twin, NHS number mistyped onto the twin", "case"),
    ("twin, no NHS number", "case"),  # the twin scores within the margin: a person checks
    ("sibling: same name and postcode, another birth date, no NHS number", "case"),
    ("day and month transposed onto a real person, no NHS number", "case"),
    ("day and month transposed, with the NHS number", "case"),
    ("mistyped digit lands on a stranger", "case"),
    ("hyphenated names sent with spaces", "auto"),
    ("anglicised forename", "case"),
]


def _person(world: "World", surname: str, forenames: list[str], born: dt.date, sex: str, postcode: str, at=None):
    from core.nhs_number import from_serial
    from pds.models import GPPeriod, Patient, PatientAddress, PatientName

    world.serial += 1
    patient = Patient.objects.create(
        nhs_number=from_serial(61_000_000 + world.serial * 7), gender=sex, birth_date=born, place_of_birth="LEEDS"
    )
    PatientName.objects.create(patient=patient, family=surname, given=forenames, prefix="")
    PatientAddress.objects.create(
        patient=patient, road="12 MILL LANE", post_town="LEEDS", postcode=postcode, start=dt.date(2012, 1, 1)
    )
    if at:
        GPPeriod.objects.create(patient=patient, practice_ods=at, start=dt.date(2015, 1, 1))
    return Patient.objects.prefetch_related("names", "addresses", "gp_periods").get(pk=patient.pk)


def _trap(world: "World", name: str, gp: GP, elsewhere: str, i: int) -> tuple[dict, str | None]:
    """The G1 the practice sends and the NHS number of the person it means (None: not in PDS)."""
    family = f"{SURNAMES[i % len(SURNAMES)]}{chr(65 + i // len(SURNAMES) % 26)}"
    born, sex, postcode = dt.date(1980 + i % 30, 5, 7), "2", f"LS{i % 27 + 1} 4AP"
    meant = _person(world, family, ["JANE"], born, sex, postcode, at=elsewhere)
    as_sent = {"surname": family, "forenames": ["JANE"], "birth_date": born.isoformat(), "sex": sex}
    if name == "twin, NHS number mistyped onto the twin":
        twin = _person(world, family, ["JOAN"], born, sex, postcode, at=elsewhere)
        return _acceptance(world, gp, meant, nhs_number=twin.nhs_number, **as_sent), meant.nhs_number
    if name == "twin, no NHS number":
        _person(world, family, ["JOAN"], born, sex, postcode, at=elsewhere)
        return _acceptance(world, gp, meant, nhs_number=None, acceptance_type="2", place_of_birth="LEEDS"), (
            meant.nhs_number
        )
    if name == "sibling: same name and postcode, another birth date, no NHS number":
        # The one meant is new to PDS; their older sister of the same name lives at the same address.
        sister = meant
        tx = _acceptance(world, gp, sister, nhs_number=None, acceptance_type="2", place_of_birth="LEEDS")
        return {**tx, "birth_date": born.replace(year=born.year + 3).isoformat()}, None
    if name == "day and month transposed onto a real person, no NHS number":
        other = _person(world, family, ["JANE"], born.replace(month=7, day=5), sex, postcode, at=elsewhere)
        tx = _acceptance(world, gp, meant, nhs_number=None, acceptance_type="2", place_of_birth="LEEDS")
        return {**tx, "birth_date": other.birth_date.isoformat()}, meant.nhs_number
    if name == "day and month transposed, with the NHS number":
        return {**_acceptance(world, gp, meant), "birth_date": born.replace(month=7, day=5).isoformat()}, (
            meant.nhs_number
        )
    if name == "mistyped digit lands on a stranger":
        stranger = _person(world, f"X{family}", ["PETER"], dt.date(1950, 1, 1), "1", "LS9 9ZZ", at=elsewhere)
        return _acceptance(world, gp, meant, nhs_number=stranger.nhs_number, **as_sent), meant.nhs_number
    if name == "hyphenated names sent with spaces":
        hyphenated = _person(world, f"{family}-JONES", ["MARY-ANN"], born, sex, postcode, at=elsewhere)
        tx = _acceptance(world, gp, hyphenated, surname=f"{family} JONES", forenames=["MARY ANN"])
        return tx, hyphenated.nhs_number
    if name == "anglicised forename":
        # PDS holds the name given at birth; the practice wrote the English form it is known by.
        born_as = _person(world, family, ["GIUSEPPE"], born, "1", postcode, at=elsewhere)
        return _acceptance(world, gp, born_as, forenames=["JOSEPH"]), born_as.nhs_number
    raise ValueError(name)


def _adversarial(each: int) -> dict:
    from registrations.models import Registration
    from registrations.services import inbound

    rng = random.Random(20261202)
    world = World(rng)
    meant: dict[tuple[str, int], tuple[str, str | None]] = {}
    stored = []
    for s_index, (name, _) in enumerate(ADVERSARIAL):
        for k in range(each):
            practice = world.practices[k % len(world.practices)]
            tx, who = _trap(world, name, practice.gps.first(), world.other(practice).ods_code, s_index * each + k)
            meant[(practice.link_code, tx["tn"])] = (name, who)
            ic = single(practice.link_code, practice.ha.link_code, world.tn, PREPARED, [tx], cipher=practice.ha.cipher)
            row, _ = inbound.store_inbound(
                mesh_message_id=f"adversarial-{world.tn}",
                body=edifact(ic),
                workflow="NHAIS_REG",
                message_type="DATA",
                sender=practice.mesh_mailbox,
                recipient="PCRMHUB01",
            )
            stored.append(row.pk)
    _decide_all(stored)
    expected = dict(ADVERSARIAL)
    per: dict[str, Counter] = defaultdict(Counter)
    wrong = 0
    for tx in Transaction.objects.prefetch_related("cases"):
        name, who = meant[(tx.sender, tx.tn)]
        automatic = tx.status in AUTOMATIC
        applied_to = set(Registration.objects.filter(transaction=tx).values_list("nhs_number", flat=True))
        wrongly = automatic and bool(applied_to) and applied_to != {who}
        wrong += wrongly
        per[name]["total"] += 1
        per[name]["automatic"] += automatic
        per[name]["as_expected"] += ("auto" if automatic else "case") == expected[name]
        per[name]["wrongly_applied"] += wrongly
    total = sum(c["total"] for c in per.values())
    automatic = sum(c["automatic"] for c in per.values())
    return {
        "transactions": total,
        "automatic": automatic,
        "auto_rate": round(automatic / total, 3) if total else None,
        "wrongly_applied": wrong,
        "decided_as_expected": round(sum(c["as_expected"] for c in per.values()) / total, 3) if total else None,
        "per_scenario": {name: dict(per[name]) for name, _ in ADVERSARIAL},
    }
