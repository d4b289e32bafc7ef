"""factory-boy factories for every model, with traits for the states tests need."""

import datetime as dt
import hashlib

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from core.nhs_number import from_serial
from exceptions.models import AuditEvent, CaseEvent, ExceptionCase
from pds.models import GPPeriod, Patient, PatientAddress, PatientName
from registrations import models as reg
from registrations.mesh_directory import gp_mailbox


def _base36(n: int, width: int = 2) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get(name=name))
        if create:
            self.save()


class HealthAuthorityFactory(factory.django.DjangoModelFactory):
    """The 89 real HAs are loaded by migration; by default take one of them, migrated to PCRM."""

    class Meta:
        model = reg.HealthAuthority
        django_get_or_create = ("cipher",)

    cipher = "XX1"
    name = factory.LazyAttribute(lambda o: f"Test HA {o.cipher}")
    nation = "England"
    link_code = factory.LazyAttribute(lambda o: f"{o.cipher}1" if len(o.cipher) == 3 else f"{o.cipher}01")
    migrated = True
    nhais_mailbox = factory.LazyAttribute(lambda o: f"NHAIS{o.cipher}1")


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Practice

    ods_code = factory.Sequence(lambda n: f"T{n + 10000:05d}")
    name = factory.Sequence(lambda n: f"Test Surgery {n}")
    address = "1 High Street, Leeds"
    postcode = "LS1 4AP"
    ha = factory.SubFactory(HealthAuthorityFactory)
    link_code = factory.Sequence(lambda n: f"T{_base36(n)}5")
    mesh_mailbox = factory.Sequence(lambda n: gp_mailbox(300 + n % 100 + 1))


class GPFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.GP

    national_code = factory.Sequence(lambda n: f"{4800000 + n:07d}")
    local_code = factory.Sequence(lambda n: f"{200 + n}")
    name = factory.Sequence(lambda n: f"DR TEST{n}")
    practice = factory.SubFactory(PracticeFactory)


class LinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Link
        django_get_or_create = ("practice", "ha")

    practice = factory.SubFactory(PracticeFactory)
    ha = factory.SelfAttribute("practice.ha")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    nhs_number = factory.Sequence(lambda n: from_serial(90_000_000 + n * 7))
    gender = "2"
    birth_date = dt.date(1980, 5, 17)

    class Params:
        deceased = factory.Trait(death_date=dt.date(2024, 1, 2), death_status="formal")

    @factory.post_generation
    def name(self, create, extracted, **kwargs):
        family, *given = (extracted or "SMITH JANE").split()
        PatientName.objects.create(patient=self, family=family, given=given)

    @factory.post_generation
    def address(self, create, extracted, **kwargs):
        PatientAddress.objects.create(
            patient=self,
            house="",
            road="1 HIGH STREET",
            post_town="LEEDS",
            postcode=extracted or "LS1 4AP",
            start=dt.date(2015, 1, 1),
        )

    @factory.post_generation
    def registered_at(self, create, extracted, **kwargs):
        if extracted:
            GPPeriod.objects.create(patient=self, practice_ods=extracted, start=dt.date(2015, 1, 1))


class InterchangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Interchange

    direction = reg.Direction.INBOUND
    workflow = "NHAIS_REG"
    mesh_message_id = factory.Sequence(lambda n: f"TESTMSG{n:08d}")
    raw = b"UNB+UNOA:2+TES5+XX11+200610:1438+00000001'UNZ+0+00000001'"
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.raw).hexdigest())
    sender = "TES5"
    recipient = "XX11"
    sis = factory.Sequence(lambda n: n + 1)
    status = reg.InterchangeStatus.PARSED
    received_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Message

    interchange = factory.SubFactory(InterchangeFactory)
    sms = factory.Sequence(lambda n: n + 1)
    type = "G1"
    ha_cipher = "XX1"


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Transaction

    message = factory.SubFactory(MessageFactory)
    sender = factory.SelfAttribute("message.interchange.sender")
    recipient = factory.SelfAttribute("message.interchange.recipient")
    sis = factory.SelfAttribute("message.interchange.sis")
    sms = factory.SelfAttribute("message.sms")
    tn = factory.Sequence(lambda n: n + 1)
    type = "G1"
    data = factory.LazyAttribute(
        lambda o: {"tn": o.tn, "type": o.type, "nhs_number": None, "errors": [], "warnings": []}
    )


class OutboxItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.OutboxItem

    kind = reg.OutboxKind.TRANSACTION
    link = factory.SubFactory(LinkFactory)
    mesh_recipient = factory.SelfAttribute("link.practice.mesh_mailbox")
    tx_type = "F10"
    ha_cipher = factory.SelfAttribute("link.ha.cipher")
    payload = factory.LazyFunction(lambda: {"gp_code": "4826940,281", "nhs_number": "9434765919"})


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = reg.Registration

    nhs_number = factory.Sequence(lambda n: from_serial(91_000_000 + n * 7))
    practice = factory.SubFactory(PracticeFactory)
    acceptance_code = "A"
    acceptance_type = "1"
    acceptance_date = dt.date(2026, 1, 5)


class ExceptionCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExceptionCase

    kind = "NO_TRACE"
    summary = "NHS number not known to PDS"
    nhs_number = factory.Sequence(lambda n: from_serial(92_000_000 + n * 7))
    practice_ods = "T10000"
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=3))

    class Params:
        resolved = factory.Trait(status="RESOLVED", closed_at=factory.LazyFunction(timezone.now))


class CaseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseEvent

    case = factory.SubFactory(ExceptionCaseFactory)
    system = "processing"
    action = "opened"


class AuditEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEvent

    user = factory.SubFactory(UserFactory)
    action = "view_case"
    object_type = "case"
    object_id = "1"


# --- PDS (appended for the PDS issue) -------------------------------------------------------------------


class PatientTelecomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pds.PatientTelecom"

    patient = factory.SubFactory(PatientFactory)
    system = "phone"
    use = "mobile"
    value = "07700 900123"
    start = dt.date(2020, 1, 1)


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A FHIR API token; the raw bearer value is on `.raw` (only its hash is stored)."""

    class Meta:
        model = "pds.ApiToken"

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"test system {n}")

    @classmethod
    def _create(cls, model_class, *args, user=None, name="", **kwargs):
        token, raw = model_class.issue(user, name)
        token.raw = raw
        return token
