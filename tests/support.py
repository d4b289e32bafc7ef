"""Helpers shared by test modules. (conftest.py holds fixtures only: several folders have their own
conftest.py, so importing names from "conftest" would pick whichever was loaded first.)"""

import datetime as dt
import os
import time
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent

# The external conformance suite reads third-party material from ../shared (never copied in). Only
# paths here: nothing may read them at import time, because a plain clone has no ../shared.
SHARED = Path(os.environ.get("PCRM_SHARED_DIR") or REPO.parent / "shared").resolve()
FIXTURES = SHARED / "nhais-fixtures"

# NHAIS fixtures whose envelope references or counts are wrong on purpose (their MANIFEST.md caveats).
BAD_CONTROL_FIXTURES = frozenset(
    {
        "ha-to-gp/amendment/amend-all.edifact.dat",
        "ha-to-gp/close_quarter_notification/close-quarter-notification-other-transactions.edifact.dat",
        "recep/recep.dat",
    }
)

# A fixed moment for codec tests (the codec never reads the clock itself).
WHEN = dt.datetime(2024, 7, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))


def moved_clock() -> dt.datetime | None:
    """Where PCRM_TEST_NOW moves the clock for this session (UK local time unless it has an offset)."""
    value = os.environ.get("PCRM_TEST_NOW", "").strip()
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Europe/London"))


def shared_present() -> bool:
    return FIXTURES.is_dir()


def fixture_names() -> list[str]:
    """The NHAIS fixture files, relative to FIXTURES; empty when ../shared is absent (the external
    tests that use them are then deselected, so an empty parameter list never runs)."""
    if not shared_present():
        return []
    return sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.dat"))


def read_fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def single(tx, *, cipher: str = "XX1", sender: str = "XX11", recipient: str = "TES5"):
    """An interchange holding one message with one transaction (devtools.interchanges builds it)."""
    from devtools import interchanges

    msg = interchanges.message(1, [tx], cipher=cipher, quarter_end=tx.quarter_end)
    return interchanges.interchange(sender, recipient, 1, WHEN, [msg])


def segments_of(data: bytes) -> list[str]:
    """Wire segments of built bytes, without terminators."""
    return data.decode("latin-1").rstrip("'").split("'\n")


# The JSON shape of the codec (to_json): exactly these keys, and no others.
TOP_KEYS = {"sender", "recipient", "sis", "prepared_at", "warnings", "messages"}
MESSAGE_KEYS = {"sms", "type", "ha_cipher", "transactions"}
TX_KEYS = {
    "tn", "type", "gp_code", "nhs_number", "surname", "forenames", "title", "sex", "birth_date", "address",
    "acceptance_code", "acceptance_type", "acceptance_date", "place_of_birth", "previous_gp", "previous_ha",
    "previous_address", "new_ha", "entry_date", "exit_date", "deduction_reason", "deduction_date", "fp69_reason",
    "fp69_expiry", "free_text", "drugs_dispensed", "residential_institute", "previous_surname",
    "amended_nhs_number", "errors", "warnings",
}  # fmt: skip
ADDRESS_KEYS = {"house", "road", "locality", "post_town", "county", "postcode"}


def assert_documented_json_shape(data: dict) -> None:
    """Only documented keys appear in a to_json document, at every level."""
    assert set(data) - {"recep"} == TOP_KEYS
    for msg in data["messages"]:
        assert MESSAGE_KEYS <= set(msg) <= MESSAGE_KEYS | {"quarter_end"}
        assert ("quarter_end" in msg) == (msg["type"] == "F8")
        for tx in msg["transactions"]:
            assert {"tn", "type", "nhs_number", "errors", "warnings"} <= set(tx)
            assert set(tx) <= TX_KEYS | {"raw_segments"}
            assert ("raw_segments" in tx) == (tx["type"] in ("F5", "F6"))
            if "address" in tx:
                assert set(tx["address"]) == ADDRESS_KEYS


# --- people ------------------------------------------------------------------------------------------


def role_user(role: str | None, **fields):
    """A person holding one role of core/roles.py (None: signed in, with none of PCRM's roles), and staff
    exactly when signing in would make them staff (accounts.services.STAFF_ROLES: the Django admin)."""
    from factories import UserFactory

    from accounts.services import STAFF_ROLES

    fields.setdefault("is_staff", role in STAFF_ROLES)
    return UserFactory(roles=[role] if role else [], **fields)


# --- browser helpers ---------------------------------------------------------------------------------
# Every area in the menu, in the order the header shows them: what an Administrator sees (core.presenters).
ADMINISTRATOR_MENU = [
    "Team overview",
    "Work queue",
    "Dashboard",
    "Find a patient",
    "Interchanges",
    "Audit",
    "Capitation",
    "Migration",
    "Admin",
]

PASSWORD = "correct-horse-battery"  # every UserFactory user's (tests/factories.py)

# Screenshots go outside tracked files, so a test run leaves the tree clean; `make screenshots` sets
# PCRM_SCREENSHOTS=docs/screenshots to refresh the README's pictures on purpose.
SCREENSHOTS = Path(os.environ.get("PCRM_SCREENSHOTS") or REPO / ".run" / "screenshots")


def post_sign_in(client, username: str, next_url: str = ""):
    """The test client posts the password sign-in form (as `username`, PASSWORD), with `next` when given;
    returns the response."""
    from django.urls import reverse

    login = reverse("login")
    if not next_url:
        return client.post(login, {"username": username, "password": PASSWORD})
    return client.post(f"{login}?next={next_url}", {"username": username, "password": PASSWORD, "next": next_url})


def without_web_fonts(page) -> None:
    """Refuse the page's requests for NHS.UK's Frutiger web fonts: they come from assets.nhs.uk, which
    these machines cannot reach (waiting for them would only slow every page down)."""
    page.route("https://assets.nhs.uk/**", lambda route: route.abort())


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """On the sign-in page the browser shows, fill in the username and password and press Sign in."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> None:
    """A full-page PNG of what the person sees now (focus rings removed), to SCREENSHOTS/<name>.png."""
    directory = SCREENSHOTS if SCREENSHOTS.is_absolute() else REPO / SCREENSHOTS
    directory.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def assert_accessible(page) -> None:
    """axe-core on the page as it is now: no serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.2, message: str = "condition"):
    """Poll until `predicate()` is truthy; a bounded wait for work done by other processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def beat(entry: str, *, broker: str | None = None) -> None:
    """Send one of beat's schedule entries (settings.CELERY_BEAT_SCHEDULE) as beat would: by its task
    name from the schedule, so a change of task behind an entry changes nothing here."""
    from django.conf import settings

    from pcrm_site.celery import app

    name = settings.CELERY_BEAT_SCHEDULE[entry]["task"]
    if broker is None:
        app.send_task(name, queue=app.conf.task_default_queue)
        return
    with app.connection_for_write(broker) as connection:
        app.send_task(name, queue=app.conf.task_default_queue, connection=connection)


def drain():
    """One MESH poll, ingesting and processing in-process what it stored (the workers' job)."""
    from registrations.services import inbound, processing

    stored = []
    result = inbound.poll_inbox(on_stored=stored.append)
    for pk in stored:
        for tx_id in inbound.ingest_interchange(pk).new_transaction_ids:
            processing.process_transaction(tx_id)
    return result


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start), walking day by day: the
    plain count exceptions.sla.working_days_since must agree with."""
    from exceptions.sla.working_days import is_working_day

    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day)
    return count


# --- GP Links from a practice (test builders on devtools.interchanges, #11 item 10) --------------------
# The practice TES5 sends to the HA XX11 (cipher XX1); its GP 4826940,281 accepts JANE STEVENS.
GP_CODE = "4826940,281"
SENT_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def g1_interchange(sis: int = 1, tn: int = 7, nhs_number: str = "9434765919") -> bytes:
    """A type 1 acceptance from TES5 to XX11 (GP 4826940,281) for a patient called JANE STEVENS."""
    return g1_batch(sis, [nhs_number], first_tn=tn)


def g1_transaction(tn: int, nhs_number: str | None = None, **fields):
    """A type 1 acceptance by GP 4826940,281 for JANE STEVENS (born 17 May 1980, 1 High Street, Leeds),
    accepted 2 November 2026; no NHS number (None) leaves it out; `fields` override any item (gp_code,
    acceptance_date, free_text...): None erases an item on the wire, ABSENT leaves it out."""
    from registrations.gplinks import Address, Transaction

    items = {
        "gp_code": GP_CODE,
        "surname": "STEVENS",
        "forenames": ["JANE"],
        "sex": "2",
        "birth_date": dt.date(1980, 5, 17),
        "acceptance_code": "A",
        "acceptance_type": "1",
        "acceptance_date": dt.date(2026, 11, 2),
        "address": Address("", "1 HIGH STREET", "", "LEEDS", "", "LS1 4AP"),
    }
    if nhs_number is not None:
        items["nhs_number"] = nhs_number
    return Transaction(tn=tn, type="G1", **{**items, **fields})


def practice_interchange(sis: int, transactions, *, sender: str = "TES5", prepared_at: dt.datetime = SENT_AT) -> bytes:
    """The EDIFACT of one interchange from a practice to XX11: one message (numbered like the interchange,
    cipher XX1) holding `transactions`."""
    from devtools import interchanges

    return interchanges.edifact(interchanges.single(sender, "XX11", sis, prepared_at, transactions, cipher="XX1"))


def g1_batch(sis: int, nhs_numbers: list[str], first_tn: int, **fields) -> bytes:
    """One interchange, one message, one type 1 acceptance per NHS number (TNs from `first_tn`);
    `fields` override items of every transaction (e.g. free_text)."""
    return practice_interchange(
        sis, [g1_transaction(first_tn + i, number, **fields) for i, number in enumerate(nhs_numbers)]
    )
