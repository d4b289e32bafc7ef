"""A population small enough to check by hand, for the quarter ending 31 March 2026.

Every patient is there for one rule (docs/capitation.md). Ages are on 31 March 2026; "Q" below is
that day and "previous" is 31 December 2025.

practice A00001 (GPs a1, a2)     practice B00002 (GPs b1, b2)     C00003   D00004 (linked, empty)
  P1  F 45–64 a1                   P4  F 85+  b1 (85 on Q)          P14 M age not known
  P2  M 5–14  a2 (5 on Q)          P5  F 75–84 b1 (85 the day after)
  P3  M 0–4   no GP (5 after Q)    P6  M 15–44 b1  moved in from A mid-quarter
  P11 O 15–44 no GP accepted on Q  P15 F 15–44 no GP  accepted mid-quarter (A period was zero-length)
  P17 F 15–44 a2 (GP changed)      P16 M 65–74 b1 (a later b2 registration is after Q)
  left: P6 moved to B, P7 died     left: P8 died on Q, P10 deducted on Q, P13 moved out to Z99999
  not counted: P9 died before the quarter, P12 accepted after Q
Z99999 (in PDS only, not a PCRM practice): P13 O 45–64, accepted mid-quarter.
"""

import datetime as dt
from dataclasses import dataclass, field

from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory

from pds.models import GPPeriod
from registrations.models import Registration

Q = dt.date(2026, 3, 31)
PREVIOUS = dt.date(2025, 12, 31)
AFTER_Q = dt.date(2026, 4, 1)
CLOSING_DAY = dt.date(2026, 4, 17)  # after the grace period: ten working days, Easter skipped


@dataclass
class World:
    practices: dict = field(default_factory=dict)
    gps: dict = field(default_factory=dict)
    patients: dict = field(default_factory=dict)
    links: list = field(default_factory=list)


def build_world() -> World:
    w = World()
    ha = HealthAuthorityFactory(cipher="XX1")
    for ods in ("A00001", "B00002", "C00003", "D00004"):
        practice = PracticeFactory(ods_code=ods, name=f"Surgery {ods[0]}", ha=ha)
        w.practices[ods[0]] = practice
        w.links.append(LinkFactory(practice=practice, ha=ha))
    for code, practice, national, local in (
        ("a1", "A", "4800001", "201"),
        ("a2", "A", "4800002", "202"),
        ("b1", "B", "4800003", "203"),
        ("b2", "B", "4800004", "204"),
    ):
        w.gps[code] = GPFactory(national_code=national, local_code=local, practice=w.practices[practice])

    def patient(key, gender, born, periods, died=None, registrations=()):
        p = PatientFactory(gender=gender, birth_date=born)
        if died:
            p.death_date, p.death_status = died, "formal"
            p.save(update_fields=["death_date", "death_status"])
        for ods, start, end in periods:
            GPPeriod.objects.create(patient=p, practice_ods=ods, start=start, end=end)
        for practice, gp, accepted in registrations:
            Registration.objects.create(
                nhs_number=p.nhs_number,
                practice=w.practices[practice],
                gp=w.gps[gp],
                acceptance_date=accepted,
                acceptance_code="A",
                acceptance_type="1",
            )
        w.patients[key] = p
        return p

    d = dt.date
    patient("P1", "2", d(1980, 5, 17), [("A00001", d(2015, 1, 1), None)], registrations=[("A", "a1", d(2015, 1, 1))])
    patient("P2", "1", d(2021, 3, 31), [("A00001", d(2021, 4, 10), None)], registrations=[("A", "a2", d(2021, 4, 10))])
    patient("P3", "1", d(2021, 4, 1), [("A00001", d(2021, 4, 10), None)])
    patient("P4", "2", d(1941, 3, 31), [("B00002", d(2010, 1, 1), None)], registrations=[("B", "b1", d(2010, 1, 1))])
    patient("P5", "2", d(1941, 4, 1), [("B00002", d(2010, 1, 1), None)], registrations=[("B", "b1", d(2010, 1, 1))])
    patient(
        "P6",
        "1",
        d(1990, 1, 1),
        [("A00001", d(2010, 1, 1), d(2026, 2, 15)), ("B00002", d(2026, 2, 15), None)],
        registrations=[("A", "a1", d(2010, 1, 1)), ("B", "b1", d(2026, 2, 15))],
    )
    patient("P7", "2", d(1950, 6, 1), [("A00001", d(2000, 1, 1), None)], died=d(2026, 2, 1))
    patient("P8", "2", d(1930, 1, 1), [("B00002", d(2005, 1, 1), None)], died=Q)
    patient("P9", "1", d(1940, 1, 1), [("A00001", d(2000, 1, 1), None)], died=d(2025, 11, 1))
    patient("P10", "1", d(1985, 1, 1), [("B00002", d(2012, 1, 1), Q)])
    patient("P11", "0", d(2000, 1, 1), [("A00001", Q, None)])
    patient("P12", "2", d(2000, 1, 1), [("A00001", AFTER_Q, None)])
    patient("P13", "9", d(1970, 7, 1), [("B00002", d(2026, 1, 10), d(2026, 3, 1)), ("Z99999", d(2026, 3, 1), None)])
    patient("P14", "1", None, [("C00003", d(2020, 1, 1), None)])
    patient("P15", "2", d(2010, 1, 1), [("A00001", d(2026, 2, 10), d(2026, 2, 10)), ("B00002", d(2026, 2, 10), None)])
    patient(
        "P16",
        "1",
        d(1955, 2, 28),
        [("A00001", d(2019, 1, 1), d(2025, 6, 1)), ("B00002", d(2025, 6, 1), None)],
        registrations=[("B", "b1", d(2025, 6, 1)), ("B", "b2", d(2026, 5, 1))],
    )
    patient(
        "P17",
        "2",
        d(1995, 3, 31),
        [("A00001", d(2012, 1, 1), None)],
        registrations=[("A", "a1", d(2012, 1, 1)), ("A", "a2", d(2026, 1, 20))],
    )
    return w
