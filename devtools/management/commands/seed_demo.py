"""Load a deterministic demo world: HAs cut over, practices, GPs, links, PDS patients, users, and a
backlog of GP Links interchanges waiting in PCRM's MESH inbox.

The backlog covers every transaction type GP systems send (G1, G2, G3, G5), some that auto-process
and some that become exception cases, plus one interchange for an HA not yet migrated (forwarded to
NHAIS), one that cannot be read at all, and one of each thing the MESH front door must withstand.
"""

import datetime as dt
import random
from dataclasses import replace

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from core import roles
from core.nhs_number import from_serial
from devtools import interchanges, migration_demo
from devtools.interchanges import acceptance_for, transaction_of
from pds.models import GPPeriod, Patient, PatientAddress, PatientName
from registrations import mesh
from registrations.gplinks import Interchange, build_recep
from registrations.mesh_directory import GP_MAILBOX_POOL, gp_mailbox
from registrations.models import GP, HealthAuthority, Link, Practice

MIGRATED = {"BAA": dt.date(2026, 4, 1), "COV": dt.date(2026, 7, 1), "KC": dt.date(2026, 10, 1)}
NOT_MIGRATED = "BE"
TOWNS = {"BAA": ("BARNSLEY", "S70"), "COV": ("COVENTRY", "CV1"), "KC": ("MAIDSTONE", "ME14"), "BE": ("READING", "RG1")}
PRACTICES = [
    ("C85001", "Ardsley Medical Centre", "BAA"),
    ("C85002", "Dodworth Surgery", "BAA"),
    ("C85003", "Kendray Health Centre", "BAA"),
    ("C85004", "Royston Group Practice", "BAA"),
    ("Y02601", "Earlsdon Medical Centre", "COV"),
    ("Y02602", "Foleshill Health Centre", "COV"),
    ("Y02603", "Tile Hill Surgery", "COV"),
    ("G82001", "Bearsted Medical Practice", "KC"),
    ("G82002", "Allington Clinic", "KC"),
    ("G82003", "Marden Medical Centre", "KC"),
    ("K81001", "Caversham Group Practice", "BE"),
    ("K81002", "Tilehurst Surgery", "BE"),
]
SURNAMES = [
    "SMITH",
    "JONES",
    "TAYLOR",
    "BROWN",
    "WILLIAMS",
    "WILSON",
    "JOHNSON",
    "DAVIES",
    "PATEL",
    "WRIGHT",
    "ROBINSON",
    "WOOD",
    "THOMPSON",
    "EVANS",
    "WALKER",
    "WHITE",
    "ROBERTS",
    "GREEN",
    "HALL",
    "KHAN",
    "CLARKE",
    "JACKSON",
    "HUGHES",
    "EDWARDS",
    "HILL",
    "MOORE",
    "TURNER",
    "LEWIS",
    "AHMED",
    "O'BRIEN",
]
FEMALE = [
    "OLIVIA",
    "AMELIA",
    "ISLA",
    "AVA",
    "MIA",
    "SOPHIA",
    "GRACE",
    "LILY",
    "FREYA",
    "EMILY",
    "MARGARET",
    "SUSAN",
    "PATRICIA",
    "FATIMA",
    "AISHA",
]
MALE = [
    "OLIVER",
    "GEORGE",
    "NOAH",
    "ARTHUR",
    "LEO",
    "HARRY",
    "JACK",
    "MUHAMMAD",
    "JAMES",
    "DAVID",
    "JOHN",
    "PETER",
    "MICHAEL",
    "THOMAS",
    "ALI",
]
ROADS = [
    "HIGH STREET",
    "CHURCH ROAD",
    "STATION ROAD",
    "MILL LANE",
    "PARK AVENUE",
    "VICTORIA ROAD",
    "THE GREEN",
    "QUEENS ROAD",
    "NEW STREET",
    "GROVE ROAD",
]

USERS = [
    ("agent", "NBO agent", "Alex", "Agent"),
    ("agent2", "NBO agent", "Sam", "Second"),
    ("leader", "Team leader", "Terry", "Leader"),
    ("pcse", "PCSE viewer", "Pat", "Pcse"),
    ("admin", "Administrator", "Ada", "Admin"),
]
DEMO_PASSWORD = "pcrm-demo-password"


class Command(BaseCommand):
    help = "Load the demo world (reference data, PDS patients, users) and queue a MESH backlog."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing if practices already exist")
        parser.add_argument("--patients", type=int, default=3000)
        parser.add_argument("--no-backlog", action="store_true", help="skip sending the MESH backlog")

    def handle(self, *args, if_empty=False, patients=3000, no_backlog=False, **options):
        if if_empty and Practice.objects.exists():
            self.stdout.write("Demo world already loaded; nothing to do.")
            return
        rng = random.Random(20261121)
        with transaction.atomic():
            practices = self._reference_data()
            people = self._patients(rng, practices, patients)
            self._users()
        self.stdout.write(f"Loaded {len(practices)} practices and {len(people)} PDS patients.")
        # #19: Berkshire, still on NHAIS, half-way through its migration (devtools/migration_demo.py).
        figures = migration_demo.load(practices, people)
        imported, shadow = figures["import"], figures["shadow"]
        self.stdout.write(
            f"Migration in progress for {migration_demo.CIPHER}: {imported['imported']} of {imported['rows']} "
            f"extract rows imported ({imported['reconciliation']}), "
            f"shadow run {shadow['agreed']} of {shadow['transactions']} agreed."
        )
        if not no_backlog:
            sent = self._backlog(practices, people)
            self.stdout.write(f"Sent {sent} interchanges to {settings.MESH_MAILBOX} through MESH.")

    # --- reference data --------------------------------------------------------------------

    def _reference_data(self) -> list[Practice]:
        for cipher, cutover in MIGRATED.items():
            HealthAuthority.objects.filter(cipher=cipher).update(migrated=True, cutover_date=cutover)
        HealthAuthority.objects.filter(cipher=NOT_MIGRATED).update(migrated=False, cutover_date=None)
        practices = []
        for n, (ods, name, cipher) in enumerate(PRACTICES, start=1):
            ha = HealthAuthority.objects.get(cipher=cipher)
            town, district = TOWNS[cipher]
            practice, _ = Practice.objects.update_or_create(
                ods_code=ods,
                defaults={
                    "name": name,
                    "ha": ha,
                    "address": f"{n} {ROADS[n % len(ROADS)].title()}, {town.title()}",
                    "postcode": f"{district} {n % 9 + 1}AB",
                    # GP link codes are "3 alphas and a 5" (protocol 7.2), e.g. TES5.
                    "link_code": f"P{chr(65 + n // 26)}{chr(65 + n % 26)}5",
                    "mesh_mailbox": gp_mailbox(n),
                },
            )
            for g in range(1 + n % 3):
                GP.objects.update_or_create(
                    national_code=f"{4800000 + n * 10 + g:07d}",
                    local_code=f"{n * 10 + g}",
                    defaults={"practice": practice, "name": f"DR {SURNAMES[(n + g) % len(SURNAMES)]}"},
                )
            Link.objects.get_or_create(practice=practice, ha=ha)
            practices.append(practice)
        return practices

    # --- PDS population --------------------------------------------------------------------

    def _patients(self, rng: random.Random, practices: list[Practice], count: int) -> list[Patient]:
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    nhs_number=from_serial(10_000_000 + i * 13),
                    gender=rng.choice("12"),
                    birth_date=dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 34_000)),
                    place_of_birth=rng.choice(["LEEDS", "BARNSLEY", "COVENTRY", "MAIDSTONE", "READING", ""]),
                    sensitive=i % 250 == 7,
                    death_date=dt.date(2025, 3, 1) if i % 300 == 11 else None,
                    death_status="formal" if i % 300 == 11 else "",
                )
                for i in range(count)
            ]
        )
        names, addresses, periods = [], [], []
        for i, p in enumerate(patients):
            first = rng.choice(FEMALE if p.gender == "2" else MALE)
            middle = rng.choice(FEMALE if p.gender == "2" else MALE) if i % 3 == 0 else None
            names.append(
                PatientName(
                    patient=p,
                    family=rng.choice(SURNAMES),
                    given=[x for x in (first, middle) if x],
                    prefix="MRS" if p.gender == "2" else "MR",
                )
            )
            practice = practices[i % len(practices)]
            town, district = TOWNS[practice.ha.cipher]
            addresses.append(
                PatientAddress(
                    patient=p,
                    house="",
                    road=f"{rng.randrange(1, 200)} {rng.choice(ROADS)}",
                    post_town=town,
                    postcode=f"{district} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}",
                    start=dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(0, 5000)),
                )
            )
            periods.append(
                GPPeriod(
                    patient=p,
                    practice_ods=practice.ods_code,
                    start=dt.date(2012, 1, 1) + dt.timedelta(days=rng.randrange(0, 4000)),
                )
            )
        PatientName.objects.bulk_create(names)
        for a in addresses:
            a.postcode = a.postcode.upper()
        PatientAddress.objects.bulk_create(addresses)
        GPPeriod.objects.bulk_create(periods)
        return list(Patient.objects.prefetch_related("names", "addresses", "gp_periods").order_by("id"))

    def _users(self) -> None:
        User = get_user_model()
        for username, role, first, last in USERS:
            user, _ = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last})
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == roles.ADMINISTRATOR
            user.save()
            user.groups.set([Group.objects.get(name=role)])

    # --- the MESH backlog ------------------------------------------------------------------

    def _backlog(self, practices: list[Practice], people: list[Patient]) -> int:
        by_ods = {p.ods_code: p for p in practices}
        plan = build_backlog_plan(practices, people, by_ods)
        counters: dict[str, int] = {}
        sent_by: dict[str, list[Interchange]] = {}
        sent = 0
        for practice, transactions, cipher in plan:
            if practice == practices[0] and counters.get(practice.link_code) == 2:
                # The busiest practice's third interchange is "lost in transit": PCRM reports the gap in
                # its numbers once SEQUENCE_GAP_GRACE_SECONDS pass without it arriving.
                counters[practice.link_code] += 1
            sis = counters[practice.link_code] = counters.get(practice.link_code, 0) + 1
            now = timezone.localtime().replace(second=0, microsecond=0)
            ic = interchanges.single(practice.link_code, practice.ha.link_code, sis, now, transactions, cipher=cipher)
            sent_by.setdefault(practice.link_code, []).append(ic)
            body = interchanges.edifact(ic)
            with mesh.mesh_client(practice.mesh_mailbox) as client:
                mesh.send(
                    client,
                    recipient=settings.MESH_MAILBOX,
                    body=body,
                    workflow=mesh.WORKFLOW_REG,
                    local_id=f"demo-{practice.link_code}-{sis}",
                )
            sent += 1
        with mesh.mesh_client(practices[0].mesh_mailbox) as client:
            mesh.send(
                client,
                recipient=settings.MESH_MAILBOX,
                body=b"THIS IS NOT EDIFACT",
                workflow=mesh.WORKFLOW_REG,
                local_id="demo-garbage",
            )
        self._non_delivery_report()
        return sent + 1 + self._hostile(practices[1], sent_by[practices[1].link_code], counters)

    def _hostile(self, practice: Practice, sent: list[Interchange], counters: dict[str, int]) -> int:
        """What the MESH front door must withstand (ADR 0010), one of each: a spoofed sender, a reused
        transaction number, a body whose compression is a lie, another service's workflow, and a RECEP
        for an interchange PCRM never sent. Each becomes a case; none holds up the rest."""
        first = sent[0]
        with mesh.mesh_client(gp_mailbox(GP_MAILBOX_POOL)) as impostor:
            mesh.send(
                impostor,
                recipient=settings.MESH_MAILBOX,
                body=interchanges.edifact(sent[-1]),
                workflow=mesh.WORKFLOW_REG,
                local_id="demo-spoofed",
            )
        message = first.messages[0]
        impostor = replace(message.transactions[0], surname="IMPOSTOR")
        reused = replace(first, messages=[replace(message, transactions=[impostor])])
        sis = counters[practice.link_code] = counters[practice.link_code] + 1
        never_sent = interchanges.interchange(
            practice.ha.link_code, practice.link_code, 99_999, first.prepared_at, [replace(message, sms=99_999)]
        )
        recep = build_recep(never_sent, sis=sis, sms=sis, now=timezone.localtime().replace(microsecond=0))
        with mesh.mesh_client(practice.mesh_mailbox) as client:
            mesh.send(
                client,
                recipient=settings.MESH_MAILBOX,
                body=interchanges.edifact(reused),
                workflow=mesh.WORKFLOW_REG,
                local_id="demo-reused",
            )
            mesh.send(
                client, recipient=settings.MESH_MAILBOX, body=recep, workflow=mesh.WORKFLOW_RECEP, local_id="demo-recep"
            )
            mesh.send(
                client,
                recipient=settings.MESH_MAILBOX,
                body=b"A FILE FOR ANOTHER SERVICE",
                workflow="DEMO_OTHER",
                local_id="demo-other",
            )
            # Declares gzip but is not: only a raw POST can send that (mesh-client always encodes honestly).
            client._session.post(
                f"{client._url}/messageexchange/{practice.mesh_mailbox}/outbox",
                data=b"NOT GZIP AT ALL",
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Encoding": "gzip",
                    "mex-To": settings.MESH_MAILBOX,
                    "mex-WorkflowID": mesh.WORKFLOW_REG,
                    "mex-LocalID": "demo-bad-gzip",
                },
                timeout=settings.MESH_TIMEOUT_SECONDS,
            ).raise_for_status()
        return 5

    def _non_delivery_report(self) -> None:
        """Ask the MESH sandbox for a non-delivery REPORT in PCRM's inbox, as live MESH sends after five days
        uncollected. This is the sandbox's own admin endpoint, so it exists only in development."""
        response = requests.post(
            f"{settings.MESH_URL}/messageexchange/admin/report",
            timeout=10,
            json={
                "mailbox_id": settings.MESH_MAILBOX,
                "code": "14",
                "description": "Message not collected by recipient",
                "workflow_id": mesh.WORKFLOW_REG,
                "linked_message_id": "DEMO0000000000000000000000000001",
                "status": "undeliverable",
            },
        )
        if not response.ok:
            self.stderr.write(f"The MESH server made no demo non-delivery report ({response.status_code}).")


def build_backlog_plan(practices, people, by_ods):
    """(sending practice, [transactions as codec JSON], HA cipher) for every demo interchange.

    Most of the backlog processes automatically (moves between practices, an address change, deaths
    and emigrations, a trace that supplies the NHS number, a superseded number re-keyed); the rest
    gives at least one case of every kind that an incoming transaction can raise. A few PDS records
    are prepared first (a merge, a twin, an FP69 notice) so those situations exist.
    """
    from pds.services import create_patient, merge_patients
    from registrations.services import fp69

    plan = []
    counter = iter(range(1001, 10_000))
    alive = [p for p in people if not p.death_date and not p.sensitive]
    migrated = {p.ods_code for p in practices if p.ha.cipher != NOT_MIGRATED}
    home = [p for p in alive if p.current_gp.practice_ods in migrated]

    def send_from(practice, transactions, cipher=None):
        plan.append((practice, transactions, cipher or practice.ha.cipher))

    def at_home(patient):
        practice = by_ods[patient.current_gp.practice_ods]
        return practice, practice.gps.first()

    # --- automatic ---------------------------------------------------------------------------------
    movers = alive[:24]
    for i, patient in enumerate(movers):
        # Moves between demo practices: F4 approvals to the new practice, F2 deductions to the old one.
        current = patient.current_gp.practice_ods
        target = next(
            p for p in practices[(i % 10) + 1 :] + practices if p.ods_code != current and p.ha.cipher != NOT_MIGRATED
        )
        transfer = {
            "acceptance_type": "3",
            "previous_gp": "DR PREVIOUS",
            "previous_ha": "BAA",
            "previous_address": ["1 OLD ROAD", "LEEDS"],
        }
        send_from(
            target,
            [acceptance_for(patient, target.gps.first(), next(counter), **(transfer if i % 2 else {}))],
        )
    target = practices[0]
    gp = target.gps.first()
    for patient in home[40:42]:  # first registration without an NHS number: the trace supplies it
        no_number = acceptance_for(patient, gp, next(counter), acceptance_type="2", place_of_birth="LEEDS")
        no_number["nhs_number"] = None
        send_from(target, [no_number])
    patient = home[42]
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter),
                "G2",
                pgp,
                patient.nhs_number,
                address={
                    "house": "",
                    "road": "7 NEW STREET",
                    "locality": "",
                    "post_town": TOWNS[practice.ha.cipher][0],
                    "county": "",
                    "postcode": f"{TOWNS[practice.ha.cipher][1]} 2AB",
                },
            )
        ],
    )
    dead_at_home = [p for p in people if p.death_date and p.current_gp.practice_ods in migrated]
    for patient in dead_at_home[:1]:
        practice, pgp = at_home(patient)
        send_from(
            practice,
            [
                transaction_of(
                    next(counter),
                    "G5",
                    pgp,
                    patient.nhs_number,
                    deduction_reason="1",
                    deduction_date=patient.death_date.isoformat(),
                    free_text="DIED AT HOME",
                )
            ],
        )
    patient = home[43]
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter), "G5", pgp, patient.nhs_number, deduction_reason="5", deduction_date="2026-10-15"
            )
        ],
    )
    # A duplicate merged into this record: its old number is re-keyed automatically.
    retained, duplicate = home[44], home[45]
    rekeyed = acceptance_for(retained, gp, next(counter))
    rekeyed["nhs_number"] = duplicate.nhs_number
    merge_patients(
        retained=retained,
        duplicate=duplicate,
        retained_version=None,
        duplicate_version=None,
        by="seed_demo",
        reason="demo: duplicate records",
    )
    send_from(target, [rekeyed])

    # --- one of every case an incoming transaction can raise ----------------------------------------
    cases = iter(home[46:])
    unknown = from_serial(99_000_001)
    send_from(target, [{**acceptance_for(next(cases), gp, next(counter)), "nhs_number": unknown}])  # NO_TRACE
    twin = next(cases)  # MULTIPLE_MATCHES: two records fit the demographics equally
    name, address = twin.usual_name, twin.current_address
    create_patient(
        family=name.family,
        given=list(name.given),
        gender=twin.gender,
        birth_date=twin.birth_date,
        address={"road": address.road, "post_town": address.post_town, "postcode": address.postcode},
        by="seed_demo",
        reason="demo: a near twin",
    )
    untraced = acceptance_for(twin, gp, next(counter), acceptance_type="2", place_of_birth="LEEDS")
    untraced["nhs_number"] = None
    send_from(target, [untraced])
    send_from(target, [acceptance_for(next(cases), gp, next(counter), surname="ZZYZX-WRONG")])  # DEMOGRAPHIC_MISMATCH
    deceased = next(p for p in people if p.death_date)
    send_from(target, [acceptance_for(deceased, gp, next(counter))])  # DECEASED
    sensitive = next(p for p in people if p.sensitive)
    send_from(target, [acceptance_for(sensitive, gp, next(counter))])  # SENSITIVE
    kept, merged_away = next(cases), next(cases)  # SUPERSEDED_NUMBER: the retained record differs
    ambiguous = acceptance_for(merged_away, gp, next(counter))
    merge_patients(
        retained=kept,
        duplicate=merged_away,
        retained_version=None,
        duplicate_version=None,
        by="seed_demo",
        reason="demo: records merged in error?",
    )
    send_from(target, [ambiguous])
    send_from(
        target, [{**acceptance_for(next(cases), gp, next(counter)), "nhs_number": "N/10/10"}]
    )  # LEGACY_NHS_NUMBER
    send_from(target, [{**acceptance_for(next(cases), gp, next(counter)), "gp_code": "9999999,999"}])  # UNKNOWN_GP
    send_from(
        target, [acceptance_for(next(cases), gp, next(counter), free_text="PATIENT HAS A GUIDE DOG")]
    )  # FREE_TEXT
    send_from(target, [acceptance_for(next(cases), gp, next(counter), acceptance_code="D")])  # ACCEPTANCE_CHECK
    send_from(target, [acceptance_for(next(cases), gp, next(counter))], "COV")  # addressed to the wrong HA: F3
    patient = next(cases)  # ALREADY_REGISTERED
    practice, pgp = at_home(patient)
    send_from(practice, [acceptance_for(patient, pgp, next(counter))])
    newcomer = {  # NHS_NUMBER_ALLOCATION: an immigrant nobody in PDS resembles
        **acceptance_for(
            next(cases),
            gp,
            next(counter),
            acceptance_type="4",
            place_of_birth="LAGOS",
            surname="OKONKWO",
            forenames=["CHIDINMA"],
            birth_date="1994-03-08",
            entry_date="2026-09-01",
        ),
        "nhs_number": None,
    }
    send_from(target, [newcomer])
    patient = next(cases)  # DEMOGRAPHIC_CHANGE
    practice, pgp = at_home(patient)
    send_from(practice, [transaction_of(next(counter), "G2", pgp, patient.nhs_number, surname="NEWNAME")])
    patient = next(cases)  # INVALID_ADDRESS: the postcode is erased
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter),
                "G2",
                pgp,
                patient.nhs_number,
                address={
                    "house": "FLAT 2",
                    "road": "",
                    "locality": "",
                    "post_town": TOWNS[practice.ha.cipher][0],
                    "county": "",
                    "postcode": None,
                },
            )
        ],
    )
    patient = next(cases)  # CONFLICTING_REGISTRATION: an amendment from a practice the patient left
    elsewhere = next(p for p in practices if p.ods_code != patient.current_gp.practice_ods and p.ods_code in migrated)
    send_from(
        elsewhere,
        [
            transaction_of(
                next(counter),
                "G2",
                elsewhere.gps.first(),
                patient.nhs_number,
                address={
                    "house": "",
                    "road": "3 MILL LANE",
                    "locality": "",
                    "post_town": "LEEDS",
                    "county": "",
                    "postcode": "LS1 4AP",
                },
            )
        ],
    )
    patient = next(cases)  # FP69_RESPONSE: the practice answers an FP69 notice
    practice, pgp = at_home(patient)
    fp69.mark_returned_mail(patient.nhs_number, by="seed_demo", note="demo: letter returned")
    send_from(
        practice,
        [
            transaction_of(
                next(counter), "G2", pgp, patient.nhs_number, free_text="PATIENT SEEN 20/10/26 - STILL AT THIS ADDRESS"
            )
        ],
    )
    patient = next(cases)  # REMOVAL_REVIEW
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [transaction_of(next(counter), "G3", pgp, patient.nhs_number, free_text="PATIENT MOVED OUT OF AREA")],
    )
    patient = next(cases)  # DEDUCTION_REVIEW: a death PDS does not know
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter),
                "G5",
                pgp,
                patient.nhs_number,
                deduction_reason="1",
                deduction_date="2026-10-30",
                free_text="DIED AT HOME",
            )
        ],
    )
    patient = next(cases)  # DEDUCTION_REVIEW: another reason
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter),
                "G5",
                pgp,
                patient.nhs_number,
                deduction_reason="13",
                deduction_date="2026-10-30",
                free_text="LEFT THE AREA",
            )
        ],
    )
    patient = next(cases)  # INVALID_TRANSACTION: a deduction reason a GP may not ask for
    practice, pgp = at_home(patient)
    send_from(
        practice,
        [
            transaction_of(
                next(counter), "G5", pgp, patient.nhs_number, deduction_reason="2", deduction_date="2026-10-30"
            )
        ],
    )

    not_migrated = next(p for p in practices if p.ha.cipher == NOT_MIGRATED)
    send_from(not_migrated, [acceptance_for(next(cases), not_migrated.gps.first(), next(counter))], NOT_MIGRATED)
    return plan
