"""FHIR PATCH for Patient, as PDS takes it: `{"patches": [RFC 6902 operations]}`, all or nothing.

The operations are checked against PDS's list rules, applied with the `jsonpatch` library to a copy
of the current resource, and the patched resource is compared with the original to give the changes
in domain terms (`services.PatientChanges`). Anything the record cannot take is a `PatchRejected`
carrying the PDS error code and a diagnostic that says what to fix.
"""

import copy
import datetime as dt
import re
from typing import Any

import jsonpatch
import jsonpointer
from django.utils import timezone

from . import fhir
from .services import AddressData, NameData, PatientChanges, TelecomData

READ_ONLY = {"resourceType", "id", "identifier", "meta"}
WRITABLE = {
    "name",
    "gender",
    "birthDate",
    "deceasedDateTime",
    "address",
    "telecom",
    "generalPractitioner",
    "extension",
}
LISTS = {"name", "address", "telecom", "generalPractitioner", "extension"}
OPS = {"add", "replace", "remove", "test"}
NAME_KEYS = {"id", "use", "period", "given", "family", "prefix", "suffix"}
ADDRESS_KEYS = {"id", "use", "period", "line", "postalCode", "text", "extension"}
TELECOM_KEYS = {"id", "system", "use", "value", "period"}
GP_KEYS = {"id", "type", "identifier"}
WRITABLE_EXTENSIONS = {
    fhir.DEATH_URL,
    fhir.BIRTH_PLACE_URL,
    fhir.PHARMACY_URL,
    fhir.COMMUNICATION_URL,
    fhir.CONTACT_PREFERENCE_URL,
}
# The specification's date formats: a date is yyyy-mm-dd (not 20101022, which Python would take);
# a date of death may also carry a UTC time (its DeceasedDateTime pattern).
DATE = re.compile(r"^[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
DEATH_DATE_TIME = re.compile(r"^([12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))(T\d{2}:\d{2}:\d{2}(\+00:00)?)?$")
ODS_CODE = re.compile(r"^[A-Za-z0-9]{3,10}$")
LANGUAGE_CODE = re.compile(r"^([a-z]{2}|q[1-5])$")


class PatchRejected(Exception):
    def __init__(self, code: str, diagnostics: str):
        super().__init__(diagnostics)
        self.code = code
        self.diagnostics = diagnostics


def _invalid(message: str) -> PatchRejected:
    return PatchRejected("INVALID_UPDATE", message)


def parse_body(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or "patches" not in body:
        raise _invalid('The body must be a JSON object {"patches": [...]} of JSON Patch operations')
    # "correction" is in the official collection's requests and the specification's request schema
    # does not forbid it: PDS reads it as "this change corrects an error" (PCRM keeps history either way).
    if "correction" in body and not isinstance(body["correction"], bool):
        raise PatchRejected("INVALID_VALUE", "'correction' must be true or false")
    extra = set(body) - {"patches", "correction"}
    if extra:
        raise PatchRejected("ADDITIONAL_PROPERTIES", f"Unexpected properties in the body: {', '.join(sorted(extra))}")
    patches = body["patches"]
    if not isinstance(patches, list) or not patches:
        raise _invalid("'patches' must be a non-empty list of JSON Patch operations")
    return patches


def _check_operations(patches: list[dict[str, Any]], before: dict[str, Any]) -> None:
    previous: dict[str, Any] | None = None
    for index, op in enumerate(patches):
        where = f"patches[{index}]"
        if not isinstance(op, dict) or not isinstance(op.get("op"), str) or not isinstance(op.get("path"), str):
            raise _invalid(f"{where} must be an object with 'op' and 'path'")
        if op["op"] not in OPS:
            raise _invalid(f"{where}: operation '{op['op']}' is not supported (add, replace, remove, test)")
        if op["op"] in ("add", "replace", "test") and "value" not in op:
            raise _invalid(f"{where}: '{op['op']}' needs a 'value'")
        parts = op["path"].split("/")
        if len(parts) < 2 or parts[0] != "" or not parts[1]:
            raise _invalid(f"{where}: '{op['path']}' is not a JSON Pointer into the Patient")
        root = parts[1]
        if op["op"] != "test":
            if root in READ_ONLY:
                raise _invalid(f"{where}: /{root} is read-only and cannot be changed")
            if root not in WRITABLE:
                raise PatchRejected("ADDITIONAL_PROPERTIES", f"{where}: /{root} is not an element PDS holds")
        if root in LISTS and op["op"] != "test":
            _check_list_operation(where, op, parts, previous, before)
        previous = op


def _check_list_operation(where: str, op: dict, parts: list[str], previous: dict | None, before: dict) -> None:
    root = parts[1]
    if len(parts) == 2:
        if op["op"] == "remove":
            raise _invalid(f"{where}: remove list items one at a time (/{root}/<index>), each after a test")
        return
    if len(parts) != 3:
        return  # a change inside an existing item
    index = parts[2]
    if op["op"] == "add":
        if index != "-":
            raise _invalid(f"{where}: add a new {root} item with /{root}/-, not an explicit index")
        if isinstance(op["value"], dict) and "id" in op["value"]:
            raise _invalid(f"{where}: a new {root} item must not carry an id; PDS assigns it")
        return
    existing = _item(before, root, index, where)
    if op["op"] == "remove":
        ok_paths = {f"/{root}/{index}", f"/{root}/{index}/id", f"/{root}/{index}/url"}
        if not previous or previous.get("op") != "test" or previous.get("path") not in ok_paths:
            raise _invalid(f"{where}: removing /{root}/{index} must directly follow a test of its id")
    if op["op"] == "replace" and root != "extension":
        value = op["value"]
        if not isinstance(value, dict) or value.get("id") != existing.get("id"):
            raise _invalid(f"{where}: replacing /{root}/{index} needs the item's id ({existing.get('id')})")


def _item(before: dict, root: str, index: str, where: str) -> dict:
    items = before.get(root) or []
    if not index.isdigit() or int(index) >= len(items):
        raise _invalid(f"{where}: there is no /{root}/{index}")
    return items[int(index)]


def apply(before: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """Check and apply the operations to a copy of `before`; returns the patched resource."""
    _check_operations(patches, before)
    document = copy.deepcopy(before)
    # Adding the first item of a list the record does not have yet ("/address/-" on a record with no
    # address) is allowed by the specification: the list starts empty rather than being missing.
    for op in patches:
        parts = op["path"].split("/")
        if op["op"] == "add" and len(parts) == 3 and parts[1] in LISTS and parts[2] == "-":
            document.setdefault(parts[1], [])
    for index, op in enumerate(patches):
        try:
            jsonpatch.JsonPatch([op]).apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed as exc:
            # The library's message quotes the record's value: say where, never what (no personal data).
            raise _invalid(f"patches[{index}]: the test of {op['path']} failed") from exc
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise _invalid(f"patches[{index}]: {op['op']} {op['path']} cannot be applied to this record") from exc
    return document


# --- from the patched resource to domain changes ---------------------------------------------------


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> PatientChanges:
    extra = set(after) - set(before) - WRITABLE
    if extra:
        raise PatchRejected("ADDITIONAL_PROPERTIES", f"Unknown elements: {', '.join(sorted(extra))}")
    changes = PatientChanges()
    if after.get("gender") != before.get("gender"):
        changes.demographics["gender"] = _gender(after.get("gender"))
    if after.get("birthDate") != before.get("birthDate"):
        if "birthDate" not in after:
            raise _invalid("/birthDate cannot be removed")
        changes.demographics["birth_date"] = _date(after["birthDate"], "/birthDate")
    _extensions_and_death(before, after, changes)
    _names(before.get("name", []), after.get("name", []), changes)
    _addresses(before.get("address", []), after.get("address", []), changes)
    _telecoms(before.get("telecom", []), after.get("telecom", []), changes)
    _general_practitioner(before.get("generalPractitioner", []), after.get("generalPractitioner", []), changes)
    if not changes:
        raise _invalid("The patch changes nothing")
    return changes


def _gender(value: Any) -> str:
    if value is None:
        raise _invalid("/gender cannot be removed")
    if value == "other":
        raise PatchRejected("INVALID_VALUE", "/gender cannot be set to 'other'")
    if value not in fhir.FHIR_TO_GENDER:
        raise PatchRejected("INVALID_VALUE", "/gender must be male, female or unknown")
    return fhir.FHIR_TO_GENDER[value]


def _date(value: Any, where: str, pattern: re.Pattern = DATE) -> dt.date:
    """A date in the specification's format. The diagnostic names the field, never the value."""
    if not isinstance(value, str) or not pattern.match(value):
        raise PatchRejected("INVALID_VALUE", f"{where} must be a date in the format yyyy-mm-dd")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise PatchRejected("INVALID_VALUE", f"{where} is not a real date") from exc


def _period(item: dict, where: str, *, default_start: bool = True) -> tuple[dt.date | None, dt.date | None]:
    period = item.get("period")
    if period is None:
        return (timezone.localdate() if default_start else None), None
    if not isinstance(period, dict) or "start" not in period:
        raise PatchRejected("INVALID_VALUE", f"{where}.period needs a start")
    start = _date(period["start"], f"{where}.period.start")
    end = _date(period["end"], f"{where}.period.end") if period.get("end") else None
    if start > timezone.localdate():
        raise PatchRejected("INVALID_VALUE", f"{where}.period.start is in the future")
    if end and end < start:
        raise PatchRejected("INVALID_VALUE", f"{where}.period.end is before its start")
    return start, end


def _by_id(items: list, where: str) -> dict[str, dict]:
    if not isinstance(items, list):
        raise PatchRejected("INVALID_VALUE", f"/{where} must be a list")
    return {item["id"]: item for item in items if isinstance(item, dict) and "id" in item}


def _diff_items(before: list, after: list, root: str, keys: set[str]):
    """Split the patched list into (added, updated {pk: item}, removed [pk]) by item id."""
    old = _by_id(before, root)
    if not isinstance(after, list):
        raise PatchRejected("INVALID_VALUE", f"/{root} must be a list")
    added, updated = [], {}
    seen = set()
    for position, item in enumerate(after):
        where = f"/{root}/{position}"
        if not isinstance(item, dict):
            raise PatchRejected("INVALID_VALUE", f"{where} must be an object")
        unknown = set(item) - keys
        if unknown:
            raise PatchRejected("ADDITIONAL_PROPERTIES", f"{where}: unknown properties {', '.join(sorted(unknown))}")
        if "id" not in item:
            added.append((where, item))
            continue
        if item["id"] not in old:
            raise _invalid(f"{where}: id {item['id']} is not an existing {root} item")
        seen.add(item["id"])
        if item != old[item["id"]]:
            updated[int(item["id"])] = (where, item)
    removed = [int(pk) for pk in old if pk not in seen]
    return added, updated, removed


def _name(where: str, item: dict, new: bool = True) -> NameData:
    use = item.get("use", "usual")
    if use not in ("usual", "temp", "nickname", "old", "maiden"):
        raise PatchRejected("INVALID_VALUE", f"{where}.use must be usual, temp, nickname, old or maiden")
    family = item.get("family")
    given = item.get("given", [])
    if not isinstance(family, str) or not family.strip():
        raise PatchRejected("INVALID_VALUE", f"{where}.family is required")
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise PatchRejected("INVALID_VALUE", f"{where}.given must be a list of names")
    prefix = item.get("prefix", [])
    if not isinstance(prefix, list) or len(prefix) > 1:
        raise PatchRejected("INVALID_VALUE", f"{where}.prefix must be a list of at most one title")
    start, end = _period(item, where, default_start=new)
    return NameData(
        use=use, family=family, given=given, prefix=(prefix[0].rstrip(".") if prefix else ""), start=start, end=end
    )


def _names(before: list, after: list, changes: PatientChanges) -> None:
    added, updated, removed = _diff_items(before, after, "name", NAME_KEYS)
    changes.names_added = [_name(where, item) for where, item in added]
    changes.names_updated = {pk: _name(where, item, False) for pk, (where, item) in updated.items()}
    changes.names_removed = removed


def _address(where: str, item: dict, new: bool = True) -> AddressData:
    if item.get("use", "home") != "home":
        raise PatchRejected("INVALID_VALUE", f"{where}.use: only home addresses are held")
    lines = item.get("line", [])
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines) or len(lines) > 5:
        raise PatchRejected("INVALID_VALUE", f"{where}.line must be a list of at most 5 lines")
    postcode = item.get("postalCode", "")
    if not isinstance(postcode, str):
        raise PatchRejected("INVALID_VALUE", f"{where}.postalCode must be text")
    start, end = _period(item, where, default_start=new)
    # Lines are read by content, not position: PDS's convention drops empty lines (fhir.address_fields).
    return AddressData(values={**fhir.address_fields(lines), "postcode": postcode}, start=start, end=end)


def _addresses(before: list, after: list, changes: PatientChanges) -> None:
    added, updated, removed = _diff_items(before, after, "address", ADDRESS_KEYS)
    changes.addresses_added = [_address(where, item) for where, item in added]
    changes.addresses_updated = {pk: _address(where, item, False) for pk, (where, item) in updated.items()}
    changes.addresses_removed = removed


def _telecom(where: str, item: dict, new: bool = True) -> TelecomData:
    system, use, value = item.get("system"), item.get("use", "home"), item.get("value")
    if system not in ("phone", "email", "fax", "other"):
        raise PatchRejected("INVALID_VALUE", f"{where}.system must be phone, email, fax or other")
    if use not in ("home", "work", "temp", "mobile"):
        raise PatchRejected("INVALID_VALUE", f"{where}.use must be home, work, temp or mobile")
    if not isinstance(value, str) or not value.strip() or len(value) > 90:
        raise PatchRejected("INVALID_VALUE", f"{where}.value is required (at most 90 characters)")
    start, end = _period(item, where, default_start=new)
    return TelecomData(system=system, use=use, value=value.strip(), start=start, end=end)


def _telecoms(before: list, after: list, changes: PatientChanges) -> None:
    added, updated, removed = _diff_items(before, after, "telecom", TELECOM_KEYS)
    changes.telecoms_added = [_telecom(where, item) for where, item in added]
    changes.telecoms_updated = {pk: _telecom(where, item, False) for pk, (where, item) in updated.items()}
    changes.telecoms_removed = removed


def _general_practitioner(before: list, after: list, changes: PatientChanges) -> None:
    if not isinstance(after, list) or len(after) > 1:
        raise PatchRejected("INVALID_VALUE", "/generalPractitioner holds at most one practice")
    if before == after:
        return
    if not after:
        changes.gp_removed = True
        return
    item = after[0]
    where = "/generalPractitioner/0"
    if not isinstance(item, dict) or set(item) - GP_KEYS:
        raise PatchRejected("ADDITIONAL_PROPERTIES", f"{where}: only id, type and identifier are allowed")
    identifier = item.get("identifier")
    if not isinstance(identifier, dict) or identifier.get("system", fhir.ODS_SYSTEM) != fhir.ODS_SYSTEM:
        raise PatchRejected("INVALID_VALUE", f"{where}.identifier must be an ODS organisation code")
    ods = identifier.get("value")
    if not isinstance(ods, str) or not ods.isalnum() or ods != ods.upper():
        raise PatchRejected("INVALID_VALUE", f"{where}.identifier.value must be an ODS code (A-Z, 0-9)")
    start, end = _period(identifier, f"{where}.identifier")
    if end:
        raise PatchRejected("INVALID_VALUE", f"{where}: the registered practice has no period end")
    if before and before[0]["identifier"]["value"] == ods and "id" in item:
        raise _invalid(f"{where}: the patient is already registered with {ods}")
    changes.gp = (ods, start)


def _extension(items: Any, url: str) -> dict | None:
    if not isinstance(items, list):
        raise PatchRejected("INVALID_VALUE", "/extension must be a list")
    return next((e for e in items if isinstance(e, dict) and e.get("url") == url), None)


def _extensions_and_death(before: dict, after: dict, changes: PatientChanges) -> None:
    old_ext, new_ext = before.get("extension", []), after.get("extension", [])
    for item in new_ext if isinstance(new_ext, list) else []:
        if not isinstance(item, dict) or item.get("url") not in WRITABLE_EXTENSIONS:
            url = item.get("url") if isinstance(item, dict) else item
            raise PatchRejected("ADDITIONAL_PROPERTIES", f"/extension: '{url}' is not an extension PCRM holds")
    _preferences(old_ext, new_ext, changes)
    old_place, new_place = _extension(old_ext, fhir.BIRTH_PLACE_URL), _extension(new_ext, fhir.BIRTH_PLACE_URL)
    if old_place != new_place:
        city = ((new_place or {}).get("valueAddress") or {}).get("city", "")
        if not isinstance(city, str) or len(city) > 60:
            raise PatchRejected("INVALID_VALUE", "/extension birthPlace: valueAddress.city is text (at most 60)")
        changes.demographics["place_of_birth"] = city.upper()
    old_death, new_death = _extension(old_ext, fhir.DEATH_URL), _extension(new_ext, fhir.DEATH_URL)
    if old_death == new_death and after.get("deceasedDateTime") == before.get("deceasedDateTime"):
        return
    if "deceasedDateTime" not in after:
        if new_death:
            raise _invalid("a death notification needs a deceasedDateTime")
        changes.death = (None, "")
        return
    if not new_death:
        raise _invalid("deceasedDateTime needs a DeathNotificationStatus extension")
    try:
        code = new_death["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    except (KeyError, IndexError, TypeError) as exc:
        raise PatchRejected("INVALID_VALUE", "DeathNotificationStatus needs a deathNotificationStatus code") from exc
    if code not in fhir.FHIR_TO_DEATH:
        raise PatchRejected("INVALID_VALUE", "deathNotificationStatus must be 1 (informal) or 2 (formal)")
    changes.death = (
        _date(after["deceasedDateTime"], "/deceasedDateTime", DEATH_DATE_TIME),
        fhir.FHIR_TO_DEATH[code],
    )


def _sub(extension: dict, name: str) -> dict | None:
    items = extension.get("extension")
    if not isinstance(items, list):
        raise PatchRejected("INVALID_VALUE", f"{extension.get('url')}: 'extension' must be a list")
    return next((e for e in items if isinstance(e, dict) and e.get("url") == name), None)


def _code(item: dict | None, where: str) -> str:
    if item is None:
        return ""
    try:
        return item["valueCodeableConcept"]["coding"][0]["code"]
    except (KeyError, IndexError, TypeError) as exc:
        raise PatchRejected("INVALID_VALUE", f"{where} needs valueCodeableConcept.coding[0].code") from exc


def _preferences(old_ext: Any, new_ext: Any, changes: PatientChanges) -> None:
    """Nominated pharmacy, communication and contact preferences: what changed, as record fields."""
    for url, read in (
        (fhir.PHARMACY_URL, _pharmacy),
        (fhir.COMMUNICATION_URL, _communication),
        (fhir.CONTACT_PREFERENCE_URL, _contact_preference),
    ):
        old, new = _extension(old_ext, url), _extension(new_ext, url)
        if old != new:
            changes.demographics.update(read(new))


def _pharmacy(extension: dict | None) -> dict[str, Any]:
    if extension is None:
        return {"nominated_pharmacy": ""}
    try:
        ods = extension["valueReference"]["identifier"]["value"]
    except (KeyError, TypeError) as exc:
        raise PatchRejected("INVALID_VALUE", "NominatedPharmacy needs valueReference.identifier.value") from exc
    if not isinstance(ods, str) or not ODS_CODE.match(ods):
        raise PatchRejected("INVALID_VALUE", "NominatedPharmacy: the identifier is an ODS code (3 to 10)")
    return {"nominated_pharmacy": ods.upper()}


def _communication(extension: dict | None) -> dict[str, Any]:
    if extension is None:
        return {"language": "", "interpreter_required": None}
    language = _code(_sub(extension, "language"), "language")
    if language and not LANGUAGE_CODE.match(language):
        raise PatchRejected("INVALID_VALUE", "language must be an ISO 639-1 code or q1 to q5")
    item = _sub(extension, "interpreterRequired")
    interpreter = None if item is None else item.get("valueBoolean")
    if item is not None and not isinstance(interpreter, bool):
        raise PatchRejected("INVALID_VALUE", "interpreterRequired needs valueBoolean true or false")
    return {"language": language, "interpreter_required": interpreter}


def _contact_preference(extension: dict | None) -> dict[str, Any]:
    if extension is None:
        return {"preferred_written_format": "", "preferred_contact_method": "", "preferred_contact_times": ""}
    written = _code(_sub(extension, "PreferredWrittenCommunicationFormat"), "PreferredWrittenCommunicationFormat")
    method = _code(_sub(extension, "PreferredContactMethod"), "PreferredContactMethod")
    times = (_sub(extension, "PreferredContactTimes") or {}).get("valueString", "")
    if written and written not in fhir.WRITTEN_FORMATS:
        raise PatchRejected("INVALID_VALUE", "PreferredWrittenCommunicationFormat must be 11, 12 or 13")
    if method and method not in fhir.CONTACT_METHODS:
        raise PatchRejected("INVALID_VALUE", "PreferredContactMethod must be a code from 1 to 8")
    if not isinstance(times, str) or len(times) > 40:
        raise PatchRejected("INVALID_VALUE", "PreferredContactTimes is text of at most 40 characters")
    return {"preferred_written_format": written, "preferred_contact_method": method, "preferred_contact_times": times}
