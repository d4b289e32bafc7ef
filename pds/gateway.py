"""The PDS gateway: processing asks PDS the same questions wherever PDS lives.

`get_gateway()` answers with the local store (PDS_BACKEND=local, the default: this database,
through pds.services) or a remote PDS FHIR R4 endpoint (PDS_BACKEND=remote: PDS_FHIR_URL, through
pds.client, authenticated as pds.oauth configures). Both speak in `PatientRecord`s, plain frozen
dataclasses, and raise the same typed errors (pds.errors), so a rule written against one works
against the other. What the remote side sends and reads follows NHS England's PDS FHIR
specification (docs/pds.md); the official sandbox checks it (tests/external/).
"""

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from . import errors, fhir, selectors, services, trace
from .client import PdsClient
from .models import Patient


@dataclass(frozen=True)
class NameRecord:
    use: str
    family: str
    given: tuple[str, ...]
    prefix: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


@dataclass(frozen=True)
class AddressRecord:
    house: str
    road: str
    locality: str
    post_town: str
    county: str
    postcode: str
    start: dt.date | None = None
    end: dt.date | None = None
    use: str = "home"  # home, temp, billing or work, as PDS says


def _current(period: dict | None, today: dt.date) -> bool:
    """Whether an item is in force today by its period (no period, or no end, or an end not passed)."""
    end = (period or {}).get("end")
    return not end or dt.date.fromisoformat(end[:10]) >= today


@dataclass(frozen=True)
class PatientRecord:
    nhs_number: str
    version: int
    gender: str  # "0" not known, "1" male, "2" female, "9" not specified
    birth_date: dt.date | None
    death_date: dt.date | None
    death_status: str
    sensitive: bool
    place_of_birth: str
    names: tuple[NameRecord, ...]
    addresses: tuple[AddressRecord, ...]  # current ones (the remote API does not give history)
    gp_practice: str | None
    gp_since: dt.date | None
    superseded_from: str | None = None  # the number asked for, when it was merged into this record

    @property
    def usual_name(self) -> NameRecord | None:
        return next((n for n in self.names if n.use == "usual" and n.end is None), None)

    @property
    def current_address(self) -> AddressRecord | None:
        """The home address in force (by use and period, never by position in the list)."""
        today = timezone.localdate()
        return next((a for a in self.addresses if a.use == "home" and (a.end is None or a.end >= today)), None)

    @classmethod
    def from_patient(cls, patient: Patient, superseded_from: str | None = None) -> "PatientRecord":
        gp = patient.current_gp
        return cls(
            nhs_number=patient.nhs_number,
            version=patient.version,
            gender=patient.gender,
            birth_date=patient.birth_date,
            death_date=patient.death_date,
            death_status=patient.death_status,
            sensitive=patient.sensitive,
            place_of_birth=patient.place_of_birth,
            names=tuple(
                NameRecord(n.use, n.family, tuple(n.given), n.prefix, n.start, n.end)
                for n in sorted(patient.names.all(), key=lambda n: n.pk)
            ),
            addresses=tuple(
                AddressRecord(a.house, a.road, a.locality, a.post_town, a.county, a.postcode, a.start, a.end)
                for a in sorted(patient.addresses.all(), key=lambda a: a.pk)
                if a.end is None
            ),
            gp_practice=gp.practice_ods if gp else None,
            gp_since=gp.start if gp else None,
            superseded_from=superseded_from,
        )

    @classmethod
    def from_resource(cls, resource: dict[str, Any], version: int, asked_for: str | None = None) -> "PatientRecord":
        try:
            return cls._parse(resource, version, asked_for)
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.BadResponse(f"PDS returned a Patient this client cannot read ({exc})") from exc

    @classmethod
    def _parse(cls, resource: dict[str, Any], version: int, asked_for: str | None) -> "PatientRecord":
        def day(value: str | None) -> dt.date | None:
            return dt.date.fromisoformat(value[:10]) if value else None

        names = tuple(
            NameRecord(
                n.get("use", "usual"),
                n["family"],
                tuple(n.get("given", [])),
                (n.get("prefix") or [""])[0],
                day((n.get("period") or {}).get("start")),
                day((n.get("period") or {}).get("end")),
            )
            for n in resource.get("name", [])
        )
        addresses = tuple(
            AddressRecord(
                **fhir.address_fields(a.get("line") or []),
                postcode=a.get("postalCode", ""),
                start=day((a.get("period") or {}).get("start")),
                end=day((a.get("period") or {}).get("end")),
                use=a.get("use", "home"),
            )
            for a in resource.get("address", [])
        )
        extensions = resource.get("extension", [])
        death = next((e for e in extensions if e.get("url") == fhir.DEATH_URL), None)
        death_code = death["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] if death else None
        place = next((e for e in extensions if e.get("url") == fhir.BIRTH_PLACE_URL), None)
        # The registered practice is the one in force by its period (PDS sends no end for it; a
        # record with an ended one, like the sandbox's, has no current registration).
        today = timezone.localdate()
        gp = next(
            (g for g in resource.get("generalPractitioner") or [] if _current(g["identifier"].get("period"), today)),
            None,
        )
        security = (resource.get("meta", {}).get("security") or [{}])[0].get("code")
        nhs_number = resource["id"]
        return cls(
            nhs_number=nhs_number,
            version=version,
            gender=fhir.FHIR_TO_GENDER.get(resource.get("gender", "unknown"), "0"),
            birth_date=day(resource.get("birthDate")),
            death_date=day(resource.get("deceasedDateTime")),
            death_status=fhir.FHIR_TO_DEATH.get(death_code, "") if death_code else "",
            sensitive=security == "R",
            place_of_birth=(place or {}).get("valueAddress", {}).get("city", ""),
            names=names,
            addresses=addresses,
            gp_practice=gp["identifier"]["value"] if gp else None,
            gp_since=day(gp["identifier"].get("period", {}).get("start")) if gp else None,
            superseded_from=asked_for if asked_for and asked_for != nhs_number else None,
        )


def _birthdate_params(query: trace.TraceQuery) -> list[str]:
    if query.birth_date:
        return [f"eq{query.birth_date.isoformat()}"]
    return [
        *([f"ge{query.birth_from.isoformat()}"] if query.birth_from else []),
        *([f"le{query.birth_to.isoformat()}"] if query.birth_to else []),
    ]


def search_plan(query: trace.TraceQuery) -> list[tuple[str, dict[str, Any]]]:
    """The PDS searches for a trace, in order, each one a combination the PDS specification allows.

    Non-fuzzy needs a family name and a birth date. Later given names are left out (PDS warns they
    can stop a match when it does not hold them). Gender is left out of non-fuzzy searches, as the
    specification advises, and sent to fuzzy ones, where two of the allowed combinations need it
    and it only moves the score. Fuzzy searches take no wildcards and always include history.
    """
    birth = _birthdate_params(query)
    gender = fhir.GENDER_TO_FHIR[query.gender] if query.gender in ("1", "2") else ""
    first = query.forenames[0] if query.forenames else ""
    plan: list[tuple[str, dict[str, Any]]] = []
    if query.surname and birth:
        params: dict[str, Any] = {"family": query.surname, "birthdate": birth}
        if first:
            params["given"] = first
        if query.postcode:
            params["address-postalcode"] = query.postcode
        plan.append(("non-fuzzy", params))
    fuzzy: dict[str, Any] = {"_fuzzy-match": "true", "birthdate": birth}
    if first and query.surname:
        fuzzy |= {"given": first, "family": query.surname, **({"gender": gender} if gender else {})}
    elif query.surname and gender and query.postcode:
        fuzzy |= {"family": query.surname, "gender": gender, "address-postalcode": query.postcode}
    elif first and gender and query.postcode:
        fuzzy |= {"given": first, "gender": gender, "address-postalcode": query.postcode}
    else:
        return plan
    plan.append(("fuzzy", fuzzy))
    return plan


def _pds_decision(label: str, entries: list[dict]) -> trace.TraceResult:
    candidates = sorted(
        (
            trace.Candidate(
                0,
                e["resource"]["id"],
                float(e["search"]["score"]),
                (trace.ItemMatch("PDS score", label, float(e["search"]["score"]), f"PDS {label} search"),),
            )
            for e in entries
        ),
        key=lambda c: -c.score,  # PDS sorts best first; keep its order for equal scores
    )
    best = candidates[0]
    if len(candidates) == 1 and best.score == 1.0:
        return trace.TraceResult(trace.MATCH, tuple(candidates), f"PDS {label} search: one exact match (score 1.0)", 1)
    reason = (
        f"PDS {label} search: {len(candidates)} candidate(s), best score {best.score:.4g} "
        "(PDS's exact match is 1.0); identity is decided on them, not by PDS's score"
    )
    return trace.TraceResult(trace.MULTIPLE, tuple(candidates), reason, len(candidates))


class PdsGateway(Protocol):
    def get(self, nhs_number: str) -> PatientRecord: ...

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult: ...

    def deceased_still_registered(self, practice_ods: list[str], *, limit: int = 500) -> list[str] | None:
        """Patients with a death recorded and a registration still open at one of these practices; None
        when this PDS cannot list them."""
        ...

    # Writes: `expected_version` is the version the caller decided on (a stale one is a VersionConflict).
    # `user` is who acts, for the local history; a remote PDS knows the caller by its token instead.

    def register_with_practice(
        self,
        nhs_number: str,
        *,
        practice_ods: str,
        start: dt.date,
        expected_version: int,
        by: str,
        reason: str,
        user: Any = None,
    ) -> PatientRecord: ...

    def end_registration(
        self,
        nhs_number: str,
        *,
        end: dt.date,
        removal_reason: str,
        expected_version: int,
        by: str,
        reason: str,
        user: Any = None,
    ) -> PatientRecord: ...

    def change_address(
        self,
        nhs_number: str,
        *,
        address: dict[str, str],
        start: dt.date,
        expected_version: int,
        by: str,
        reason: str,
        user: Any = None,
    ) -> PatientRecord: ...

    def record_death(
        self,
        nhs_number: str,
        *,
        date: dt.date,
        status: str,
        expected_version: int,
        by: str,
        reason: str,
        user: Any = None,
    ) -> PatientRecord: ...

    def create_patient(
        self,
        *,
        family: str,
        given: list[str],
        gender: str,
        birth_date: dt.date,
        by: str,
        reason: str,
        prefix: str = "",
        place_of_birth: str = "",
        address: dict[str, str] | None = None,
        user: Any = None,
    ) -> PatientRecord: ...

    # A new usual name keeps the one it replaces as an old name; `use="old"` adds a previous surname.
    def change_name(
        self,
        nhs_number: str,
        *,
        family: str,
        given: list[str],
        start: dt.date,
        expected_version: int,
        by: str,
        reason: str,
        prefix: str = "",
        use: str = "usual",
        user: Any = None,
    ) -> PatientRecord: ...

    # Only the items given change (None leaves an item as it is).
    def update_demographics(
        self,
        nhs_number: str,
        *,
        expected_version: int,
        by: str,
        reason: str,
        gender: str | None = None,
        birth_date: dt.date | None = None,
        user: Any = None,
    ) -> PatientRecord: ...


# Records read within one decision (see `one_decision`), by NHS number.
_read: ContextVar[dict[str, Patient] | None] = ContextVar("pds_decision_reads", default=None)


@contextmanager
def one_decision():
    """Within this block a write to the local PDS starts from the record the decision read, instead
    of reading it again. Processing opens one around deciding and applying a transaction, inside its
    database transaction and under the patient's lock. Safe because every write is a compare-and-set
    on the version the caller decided on: a record read is used only at that version, and only once
    (a write consumes it; the next read reads again)."""
    token = _read.set({})
    try:
        yield
    finally:
        _read.reset(token)


class LocalGateway:
    """PDS in this database."""

    def _patient(self, nhs_number: str, expected_version: int | None = None) -> Patient:
        read = _read.get()
        patient = read.pop(nhs_number, None) if read is not None else None
        if patient is not None and expected_version is not None and patient.version == expected_version:
            return patient
        return selectors.get_patient(nhs_number).patient

    def _fresh(self, patient: Patient) -> PatientRecord:
        return PatientRecord.from_patient(selectors.get_patient(patient.nhs_number).patient)

    def get(self, nhs_number: str) -> PatientRecord:
        lookup = selectors.get_patient(nhs_number)
        read = _read.get()
        if read is not None:
            read[lookup.patient.nhs_number] = lookup.patient
        return PatientRecord.from_patient(lookup.patient, lookup.superseded_from)

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult:
        return trace.trace(query, max_results=max_results)

    def deceased_still_registered(self, practice_ods: list[str], *, limit: int = 500) -> list[str] | None:
        return selectors.deceased_still_registered(practice_ods, limit=limit)

    def register_with_practice(self, nhs_number, *, practice_ods, start, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number, expected_version)
        services.register_with_practice(
            patient,
            practice_ods=practice_ods,
            start=start,
            expected_version=expected_version,
            by=by,
            reason=reason,
            user=user,
        )
        # What reading it again would say: one GP period is open, the new one (pds.services._register).
        return replace(PatientRecord.from_patient(patient), gp_practice=practice_ods.upper(), gp_since=start)

    def end_registration(self, nhs_number, *, end, removal_reason, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number, expected_version)
        services.end_registration(
            patient,
            end=end,
            removal_reason=removal_reason,
            expected_version=expected_version,
            by=by,
            reason=reason,
            user=user,
        )
        # What reading it again would say: no GP period is open.
        return replace(PatientRecord.from_patient(patient), gp_practice=None, gp_since=None)

    def change_address(self, nhs_number, *, address, start, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number, expected_version)
        services.change_address(
            patient, address=address, start=start, expected_version=expected_version, by=by, reason=reason, user=user
        )
        return self._fresh(patient)

    def record_death(self, nhs_number, *, date, status, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number, expected_version)
        services.record_death(
            patient, date=date, status=status, expected_version=expected_version, by=by, reason=reason, user=user
        )
        return self._fresh(patient)

    def create_patient(
        self, *, family, given, gender, birth_date, by, reason, prefix="", place_of_birth="", address=None, user=None
    ):
        patient = services.create_patient(
            family=family,
            given=given,
            gender=gender,
            birth_date=birth_date,
            prefix=prefix,
            place_of_birth=place_of_birth,
            address=address,
            by=by,
            reason=reason,
            user=user,
        )
        return self._fresh(patient)

    def change_name(
        self, nhs_number, *, family, given, start, expected_version, by, reason, prefix="", use="usual", user=None
    ):
        patient = self._patient(nhs_number)
        services.change_name(
            patient,
            family=family,
            given=given,
            prefix=prefix,
            use=use,
            start=start,
            expected_version=expected_version,
            by=by,
            reason=reason,
            user=user,
        )
        return self._fresh(patient)

    def update_demographics(self, nhs_number, *, expected_version, by, reason, gender=None, birth_date=None, user=None):
        patient = self._patient(nhs_number, expected_version)
        items = {k: v for k, v in (("gender", gender), ("birth_date", birth_date)) if v is not None}
        services.update_demographics(
            patient, expected_version=expected_version, by=by, reason=reason, user=user, **items
        )
        return self._fresh(patient)


class RemoteGateway:
    """PDS behind a FHIR R4 endpoint. Who is acting is the token's user; why travels as X-Correlation-ID."""

    def __init__(self, client: PdsClient):
        self.client = client

    def get(self, nhs_number: str) -> PatientRecord:
        resource, version = self.client.read(nhs_number)
        return PatientRecord.from_resource(resource, version, nhs_number)

    def deceased_still_registered(self, practice_ods: list[str], *, limit: int = 500) -> list[str] | None:
        """The FHIR API cannot list deaths: None, and the caller reads the patients it knows instead."""
        return None

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult:
        """PDS's candidates for `query`, searched the way PDS allows, with PDS's own scores.

        A non-fuzzy search first (family name and birth date, with the first given name and the
        postcode when known), then, only if that finds nobody, a fuzzy search in one of the three
        combinations PDS accepts. PDS needs a birth date for every search PCRM makes, so without one
        there is no trace (a person takes it from there). `max_results` is ignored: how many PDS may
        return is a deliberate setting (PDS_TRACE_MAX_RESULTS; 1 under application-restricted
        access, where PDS answers only a unique match).

        The outcome keeps PDS's meaning of a score: MATCH only when PDS found exactly one record with
        a score of 1.0, its exact match. Anything else with candidates is MULTIPLE, the candidates
        carrying PDS's score untouched, for PCRM's identity rules or a person to decide on; PCRM's
        own thresholds (pds.trace) are never applied to PDS's scores.
        """
        if not query.has_birth:
            return trace.TraceResult(trace.NONE, (), "PDS cannot be searched without a birth date", 0)
        limit = self.client.max_results
        for label, params in search_plan(query):
            answer = self.client.search({**params, "_max-results": str(limit)})
            if answer.get("resourceType") == "OperationOutcome":
                return trace.TraceResult(
                    trace.MULTIPLE, (), f"PDS {label} search: too many matches (limit {limit})", 0, too_many=True
                )
            entries = answer.get("entry") or []
            if entries:
                return _pds_decision(label, entries)
        return trace.TraceResult(trace.NONE, (), "PDS found nobody matching (non-fuzzy and fuzzy searches)", 0)

    def _patch(self, nhs_number: str, patches: list[dict], version: int, reason: str) -> PatientRecord:
        if not self.client.may_update:
            raise errors.UpdateNeedsAPerson(
                "PCRM reaches PDS with application-restricted access, under which PDS accepts no updates"
            )
        resource, new_version = self.client.patch(nhs_number, patches, version=version, correlation_id=reason)
        return PatientRecord.from_resource(resource, new_version, nhs_number)

    def register_with_practice(self, nhs_number, *, practice_ods, start, expected_version, by, reason, user=None):
        resource, _ = self.client.read(nhs_number)
        item = {
            "type": "Organization",
            "identifier": {"system": fhir.ODS_SYSTEM, "value": practice_ods, "period": {"start": start.isoformat()}},
        }
        current = resource.get("generalPractitioner") or []
        if current:
            patches = [
                {"op": "test", "path": "/generalPractitioner/0/id", "value": current[0]["id"]},
                {"op": "replace", "path": "/generalPractitioner/0", "value": {"id": current[0]["id"], **item}},
            ]
        else:
            # A new list item is added at "/-" (the specification's rule for lists), never by
            # replacing the list, so nothing PDS holds there is lost.
            patches = [{"op": "add", "path": "/generalPractitioner/-", "value": item}]
        return self._patch(resource["id"], patches, expected_version, reason)

    def end_registration(self, nhs_number, *, end, removal_reason, expected_version, by, reason, user=None):
        """Remove the registered practice. The FHIR API has no place for the end date or the removal
        reason: the remote PDS ends the period on the day it applies the change."""
        resource, _ = self.client.read(nhs_number)
        current = resource.get("generalPractitioner") or []
        if not current:
            raise errors.InvalidChange("the patient has no current registration to end")
        patches = [
            {"op": "test", "path": "/generalPractitioner/0/id", "value": current[0]["id"]},
            {"op": "remove", "path": "/generalPractitioner/0"},
        ]
        return self._patch(resource["id"], patches, expected_version, reason)

    def change_address(self, nhs_number, *, address, start, expected_version, by, reason, user=None):
        """Replace the home address in force (found by use and period, wherever it is in the list), or
        add one at /address/- when there is none. Temporary, billing and old addresses are left alone.
        The old address's PAF/UPRN keys are not carried over: they describe the old address, and PDS
        adds the new one's key when it recognises it."""
        resource, _ = self.client.read(nhs_number)
        item: dict[str, Any] = {"use": "home", "period": {"start": start.isoformat()}}
        item["line"] = fhir.address_lines(address)
        if (address.get("postcode") or "").strip():
            item["postalCode"] = address["postcode"].strip()
        today = timezone.localdate()
        index = next(
            (
                i
                for i, a in enumerate(resource.get("address") or [])
                if a.get("use", "home") == "home" and _current(a.get("period"), today) and a.get("id")
            ),
            None,
        )
        if index is not None:
            current_id = resource["address"][index]["id"]
            patches = [
                {"op": "test", "path": f"/address/{index}/id", "value": current_id},
                {"op": "replace", "path": f"/address/{index}", "value": {"id": current_id, **item}},
            ]
        else:
            patches = [{"op": "add", "path": "/address/-", "value": item}]
        return self._patch(resource["id"], patches, expected_version, reason)

    def record_death(self, nhs_number, *, date, status, expected_version, by, reason, user=None):
        resource, _ = self.client.read(nhs_number)
        code = fhir.DEATH_TO_FHIR[status][0]
        notification = {
            "url": fhir.DEATH_URL,
            "extension": [
                {
                    "url": "deathNotificationStatus",
                    "valueCodeableConcept": {"coding": [{"system": fhir.DEATH_SYSTEM, "code": code}]},
                }
            ],
        }
        patches: list[dict] = [
            {"op": "add", "path": "/deceasedDateTime", "value": f"{date.isoformat()}T00:00:00+00:00"}
        ]
        extensions = resource.get("extension") or []
        index = next((i for i, e in enumerate(extensions) if e.get("url") == fhir.DEATH_URL), None)
        if index is None:
            # Added at "/-" even when the record has no extension list yet: the specification's way,
            # and a whole-list "add /extension" would drop whatever PDS holds there.
            patches.append({"op": "add", "path": "/extension/-", "value": notification})
        else:
            patches += [
                {"op": "test", "path": f"/extension/{index}/url", "value": fhir.DEATH_URL},
                {"op": "replace", "path": f"/extension/{index}", "value": notification},
            ]
        return self._patch(resource["id"], patches, expected_version, reason)

    def create_patient(
        self, *, family, given, gender, birth_date, by, reason, prefix="", place_of_birth="", address=None, user=None
    ):
        # Refuse before building anything: under application-restricted access PDS creates no records.
        if not self.client.may_update:
            raise errors.UpdateNeedsAPerson(
                "PCRM reaches PDS with application-restricted access, under which PDS creates no records"
            )
        name: dict[str, Any] = {"use": "usual", "family": family, "given": list(given)}
        if prefix:
            name["prefix"] = [prefix]
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "name": [name],
            "gender": fhir.GENDER_TO_FHIR[gender],
            "birthDate": birth_date.isoformat(),
        }
        if address:
            # The same line rules as an address change: PDS's order, empty lines left out.
            home: dict[str, Any] = {"use": "home", "line": fhir.address_lines(address)}
            if (address.get("postcode") or "").strip():
                home["postalCode"] = address["postcode"].strip()
            resource["address"] = [home]
        if place_of_birth:
            resource["extension"] = [{"url": fhir.BIRTH_PLACE_URL, "valueAddress": {"city": place_of_birth}}]
        created, version = self.client.create(resource, correlation_id=reason)
        return PatientRecord.from_resource(created, version)

    def change_name(
        self, nhs_number, *, family, given, start, expected_version, by, reason, prefix="", use="usual", user=None
    ):
        resource, _ = self.client.read(nhs_number)
        item: dict[str, Any] = {
            "use": use,
            "family": family,
            "given": list(given),
            "period": {"start": start.isoformat()},
        }
        if prefix:
            item["prefix"] = [prefix]
        names = resource.get("name") or []
        index = next(
            (i for i, n in enumerate(names) if n.get("use") == "usual" and "end" not in n.get("period", {})), None
        )
        if use != "usual" or index is None:
            return self._patch(
                resource["id"], [{"op": "add", "path": "/name/-", "value": item}], expected_version, reason
            )
        # As PDS keeps it: the usual name is replaced, and what it said is kept as an old name, ended.
        current = names[index]
        old = {k: v for k, v in current.items() if k not in ("id", "use", "period")}
        old_period = {**current.get("period", {}), "end": start.isoformat()}
        patches = [
            {"op": "test", "path": f"/name/{index}/id", "value": current["id"]},
            {"op": "replace", "path": f"/name/{index}", "value": {"id": current["id"], **item}},
            {"op": "add", "path": "/name/-", "value": {"use": "old", **old, "period": old_period}},
        ]
        return self._patch(resource["id"], patches, expected_version, reason)

    def update_demographics(self, nhs_number, *, expected_version, by, reason, gender=None, birth_date=None, user=None):
        resource, _ = self.client.read(nhs_number)
        patches = []
        if gender is not None:
            op = "replace" if "gender" in resource else "add"
            patches.append({"op": op, "path": "/gender", "value": fhir.GENDER_TO_FHIR[gender]})
        if birth_date is not None:
            op = "replace" if "birthDate" in resource else "add"
            patches.append({"op": op, "path": "/birthDate", "value": birth_date.isoformat()})
        return self._patch(resource["id"], patches, expected_version, reason)


def updates_may_need_a_person() -> bool:
    """Whether a write may be refused with UpdateNeedsAPerson (only a remote PDS refuses: under
    application-restricted access it accepts no updates). Callers keep a savepoint for it then."""
    return settings.PDS_BACKEND == "remote"


def get_gateway() -> PdsGateway:
    if settings.PDS_BACKEND == "remote":
        return RemoteGateway(PdsClient.from_settings())
    return LocalGateway()
