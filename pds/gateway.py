"""The PDS gateway: processing asks PDS the same questions wherever PDS lives.

`get_gateway()` answers with the local store (PDS_BACKEND=local, the default: this database,
through pds.services) or a remote PDS FHIR R4 endpoint (PDS_BACKEND=remote: PDS_FHIR_URL with
PDS_API_TOKEN, through pds.client). Both speak in `PatientRecord`s, plain frozen dataclasses, and
raise the same typed errors (pds.errors), so a rule written against one works against the other.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from . import errors, fhir, services, trace
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
        return next((a for a in self.addresses if a.end is None), None)

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
                *[*a.get("line", []), "", "", "", "", ""][:5],
                a.get("postalCode", ""),
                day((a.get("period") or {}).get("start")),
                day((a.get("period") or {}).get("end")),
            )
            for a in resource.get("address", [])
        )
        extensions = resource.get("extension", [])
        death = next((e for e in extensions if e.get("url") == fhir.DEATH_URL), None)
        death_code = death["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] if death else None
        place = next((e for e in extensions if e.get("url") == fhir.BIRTH_PLACE_URL), None)
        gp = (resource.get("generalPractitioner") or [None])[0]
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


class PdsGateway(Protocol):
    def get(self, nhs_number: str) -> PatientRecord: ...

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult: ...

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


class LocalGateway:
    """PDS in this database."""

    def _patient(self, nhs_number: str) -> Patient:
        return services.get_patient(nhs_number).patient

    def _fresh(self, patient: Patient) -> PatientRecord:
        return PatientRecord.from_patient(services.get_patient(patient.nhs_number).patient)

    def get(self, nhs_number: str) -> PatientRecord:
        lookup = services.get_patient(nhs_number)
        return PatientRecord.from_patient(lookup.patient, lookup.superseded_from)

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult:
        return trace.trace(query, max_results=max_results)

    def register_with_practice(self, nhs_number, *, practice_ods, start, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number)
        services.register_with_practice(
            patient,
            practice_ods=practice_ods,
            start=start,
            expected_version=expected_version,
            by=by,
            reason=reason,
            user=user,
        )
        return self._fresh(patient)

    def end_registration(self, nhs_number, *, end, removal_reason, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number)
        services.end_registration(
            patient,
            end=end,
            removal_reason=removal_reason,
            expected_version=expected_version,
            by=by,
            reason=reason,
            user=user,
        )
        return self._fresh(patient)

    def change_address(self, nhs_number, *, address, start, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number)
        services.change_address(
            patient, address=address, start=start, expected_version=expected_version, by=by, reason=reason, user=user
        )
        return self._fresh(patient)

    def record_death(self, nhs_number, *, date, status, expected_version, by, reason, user=None):
        patient = self._patient(nhs_number)
        services.record_death(
            patient, date=date, status=status, expected_version=expected_version, by=by, reason=reason, user=user
        )
        return self._fresh(patient)


class RemoteGateway:
    """PDS behind a FHIR R4 endpoint. Who is acting is the token's user; why travels as X-Correlation-ID."""

    def __init__(self, client: PdsClient):
        self.client = client

    def get(self, nhs_number: str) -> PatientRecord:
        resource, version = self.client.read(nhs_number)
        return PatientRecord.from_resource(resource, version, nhs_number)

    def trace(self, query: trace.TraceQuery, *, max_results: int = 10) -> trace.TraceResult:
        params: dict[str, Any] = {"_fuzzy-match": "true", "_max-results": str(max_results)}
        if query.surname:
            params["family"] = query.surname
        if query.forenames:
            params["given"] = list(query.forenames)
        if query.gender in ("1", "2"):
            params["gender"] = fhir.GENDER_TO_FHIR[query.gender]
        if query.birth_date:
            params["birthdate"] = f"eq{query.birth_date.isoformat()}"
        elif query.has_birth:
            params["birthdate"] = [
                *([f"ge{query.birth_from.isoformat()}"] if query.birth_from else []),
                *([f"le{query.birth_to.isoformat()}"] if query.birth_to else []),
            ]
        if query.postcode:
            params["address-postalcode"] = query.postcode
        answer = self.client.search(params)
        if answer.get("resourceType") == "OperationOutcome":
            return trace.TraceResult(trace.MULTIPLE, (), "PDS found too many matches", 0, too_many=True)
        candidates = [
            trace.Candidate(0, e["resource"]["id"], float(e["search"]["score"]), ()) for e in answer.get("entry", [])
        ]
        return trace.decide(sorted(candidates, key=lambda c: (-c.score, c.nhs_number)), max_results=max_results)

    def _patch(self, nhs_number: str, patches: list[dict], version: int, reason: str) -> PatientRecord:
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
            patches = [{"op": "add", "path": "/generalPractitioner", "value": [item]}]
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
        resource, _ = self.client.read(nhs_number)
        keys = ("house", "road", "locality", "post_town", "county")
        item = {
            "use": "home",
            "period": {"start": start.isoformat()},
            "line": [address.get(k) or "" for k in keys],
            "postalCode": address.get("postcode") or "",
        }
        current = resource.get("address") or []
        if current:
            patches = [
                {"op": "test", "path": "/address/0/id", "value": current[0]["id"]},
                {"op": "replace", "path": "/address/0", "value": {"id": current[0]["id"], **item}},
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
        extensions = resource.get("extension")
        if extensions is None:
            patches.append({"op": "add", "path": "/extension", "value": [notification]})
        else:
            index = next((i for i, e in enumerate(extensions) if e.get("url") == fhir.DEATH_URL), None)
            if index is None:
                patches.append({"op": "add", "path": "/extension/-", "value": notification})
            else:
                patches.append({"op": "replace", "path": f"/extension/{index}", "value": notification})
        return self._patch(resource["id"], patches, expected_version, reason)


def get_gateway() -> PdsGateway:
    if settings.PDS_BACKEND == "remote":
        return RemoteGateway(PdsClient.from_settings())
    return LocalGateway()
