"""Cases made the way production makes them: a GP Links transaction through the real processing rules.

`casework.open(...)` stores an inbound G1 (support.g1_transaction, written by devtools.interchanges on the
codec, so its bytes and JSON have the production shape)
and runs `registrations.services.processing.process_transaction` on it; whatever case the rules open
is the case the tests work. No MESH here: the UI tests start where the pipeline hands over.
"""

import datetime as dt
import hashlib
from types import SimpleNamespace

import pytest
from factories import (
    GPFactory,
    HealthAuthorityFactory,
    InterchangeFactory,
    LinkFactory,
    MessageFactory,
    PatientFactory,
    PracticeFactory,
    TransactionFactory,
    UserFactory,
)
from support import g1_transaction, practice_interchange, role_user, sign_in, without_web_fonts

from core import roles
from exceptions.models import ExceptionCase
from exceptions.services import queue
from pds.models import SupersededNumber
from registrations.gplinks import ABSENT
from registrations.gplinks.jsonio import transaction_to_json
from registrations.models import HealthAuthority
from registrations.services import processing

PREPARED = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)


class Casework:
    def __init__(self, practice):
        self.practice = practice
        self.sis = 0

    def open(self, **items) -> ExceptionCase:
        """Send one G1 from the new practice through processing; return the case it opened. An item given
        as None is left out of the G1 (e.g. nhs_number=None: a G1 without an NHS number)."""
        self.sis += 1
        tx = g1_transaction(self.sis, **{name: ABSENT if v is None else v for name, v in items.items()})
        raw = practice_interchange(self.sis, [tx], sender=self.practice.link_code, prepared_at=PREPARED)
        interchange = InterchangeFactory(
            raw=raw, sha256=hashlib.sha256(raw).hexdigest(), sender=self.practice.link_code, sis=self.sis
        )
        data = transaction_to_json(tx)
        row = TransactionFactory(
            message=MessageFactory(interchange=interchange, sms=self.sis, ha_cipher="XX1"),
            tn=tx.tn,
            data=data,
            nhs_number=data.get("nhs_number") or "",
            gp_code=data["gp_code"],
        )
        processing.process_transaction(row.pk)
        return ExceptionCase.objects.get(transaction=row)


@pytest.fixture
def casework(db):
    ha = HealthAuthorityFactory(cipher="XX1")
    HealthAuthority.objects.filter(pk=ha.pk).update(migrated=True, cutover_date=None)
    ha.refresh_from_db()
    new = PracticeFactory(ods_code="A10001", name="New Surgery", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    old = PracticeFactory(ods_code="B20002", name="Old Surgery", link_code="OLD5", ha=ha, mesh_mailbox="GPMB00302")
    GPFactory(practice=new, national_code="4826940", local_code="281")
    GPFactory(practice=old, national_code="4826941", local_code="282")
    for practice in (new, old):
        LinkFactory(practice=practice, ha=ha)
    return Casework(new)


@pytest.fixture
def two_janes(casework):
    """Two PDS records for Jane Stevens, born 17 May 1980: a G1 without an NHS number cannot choose."""
    first = PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
    second = PatientFactory(nhs_number="9434765870", name="STEVENS JANE")
    case = casework.open(nhs_number=None)
    assert case.kind == "MULTIPLE_MATCHES", case.summary
    return SimpleNamespace(case=case, first=first, second=second)


@pytest.fixture
def asha(two_janes):
    """Asha Patel, an NBO agent holding the two-Janes case (a username of her own: signs in with a password)."""
    user = UserFactory(username="asha", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    queue.claim(two_janes.case.pk, by=user)
    return user


@pytest.fixture
def sign_in_as(client):
    """`sign_in_as("Team leader", username="terry")`: a user in that role (support.role_user: staff as CIS2
    sign-in makes them), signed in on the test client."""

    def _sign_in(role: str, **fields):
        user = role_user(role, **fields)
        client.force_login(user)
        return user

    return _sign_in


@pytest.fixture
def agent(sign_in_as):
    """Asha Patel, an NBO agent, signed in on the test client."""
    return sign_in_as(roles.AGENT, username="agent1", first_name="Asha", last_name="Patel")


@pytest.fixture
def leader(sign_in_as):
    """Terry Leader, a team leader, signed in on the test client."""
    return sign_in_as(roles.TEAM_LEADER, username="leader1", first_name="Terry", last_name="Leader")


@pytest.fixture
def agent2(db):
    """Sam Second, another NBO agent (not signed in)."""
    return role_user(roles.AGENT, username="agent2", first_name="Sam", last_name="Second")


@pytest.fixture
def superseded_case(casework):
    """9434765870 was merged into 9434765919, whose forename is not the message's: a person must decide."""
    retained = PatientFactory(nhs_number="9434765919", name="STEVENS JOAN", registered_at="B20002")
    SupersededNumber.objects.create(nhs_number="9434765870", patient=retained)
    case = casework.open(nhs_number="9434765870")
    assert case.kind == "SUPERSEDED_NUMBER", case.summary
    return case


# --- browser tests ----------------------------------------------------------------------------------


@pytest.fixture
def open_browser(browser, live_server):
    """A new signed-in browser page per person: `page = open_browser("agent1")` (each its own context)."""
    from playwright.sync_api import expect

    contexts = []

    def _open(username: str, start: str = "/cases/"):
        from django.contrib.auth import get_user_model

        from core.presenters import landing

        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        without_web_fonts(page)
        page.goto(f"{live_server.url}/accounts/login/")
        sign_in(page, username)
        # Each role lands on its own home (core.presenters.landing: a team leader on the team overview) ...
        home = landing(get_user_model().objects.get(username=username)).href
        expect(page).to_have_url(f"{live_server.url}{home}")
        # ... and the walk starts where the test asks: the work queue unless it says otherwise.
        if start != home:
            page.goto(f"{live_server.url}{start}")
        if start == "/cases/":
            expect(page.get_by_role("heading", level=1)).to_have_text("Work queue")
        page.wait_for_load_state()  # the deferred scripts (htmx, keyboard shortcuts) have run
        return page

    yield _open
    for context in contexts:
        context.close()
