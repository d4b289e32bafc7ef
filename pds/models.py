"""The embedded Personal Demographics Service: the national master of who a patient is.

A patient's names, addresses and registered-GP periods are separate rows with periods, so that
history is kept and "as at" questions (capitation) can be answered. Every change bumps
`Patient.version`, which is what optimistic concurrency and the FHIR ETag are built on.
"""

import hashlib
import secrets

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


# Every change to the demographic master is kept as an append-only event (django-pghistory, see
# docs/adr/0004-pds-history.md): inserts, updates and deletes, each tied to the context (who, why)
# that the services attach.
def _trackers() -> tuple:
    # Fresh instances per model: pghistory binds a tracker to the model it is first used on.
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


class Gender(models.TextChoices):
    # Codes follow the GP Links PDI values so translation is a lookup, not a guess.
    NOT_KNOWN = "0", "Not known"
    MALE = "1", "Male"
    FEMALE = "2", "Female"
    NOT_SPECIFIED = "9", "Not specified"


class DeathStatus(models.TextChoices):
    INFORMAL = "informal", "Informal"
    FORMAL = "formal", "Formal"


class PatientQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(death_date__isnull=True)

    def registered_at(self, ods_code: str):
        return self.filter(gp_periods__practice_ods=ods_code, gp_periods__end__isnull=True)


@pghistory.track(*_trackers(), exclude=["updated_at"], model_name="PatientEvent", append_only=True)
class Patient(models.Model):
    nhs_number = models.CharField(max_length=10, unique=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, default=Gender.NOT_KNOWN)
    birth_date = models.DateField(null=True, blank=True)
    place_of_birth = models.CharField(max_length=60, blank=True)
    death_date = models.DateField(null=True, blank=True)
    death_status = models.CharField(max_length=10, choices=DeathStatus.choices, blank=True)
    # "S" (restricted): address and contact details are hidden from roles not cleared to see them.
    sensitive = models.BooleanField(default=False)
    # The specification's extensions PCRM holds (docs/pds.md): nominated pharmacy (ODS code),
    # communication (language, ISO 639-1 or q1..q5, and whether an interpreter is needed) and contact
    # preferences (written format 11..13, contact method 1..8, free-text times). The database
    # default lets bulk loads that do not name them (devtools.population's COPY) leave them empty.
    nominated_pharmacy = models.CharField(max_length=10, blank=True, default="", db_default="")
    language = models.CharField(max_length=10, blank=True, default="", db_default="")
    interpreter_required = models.BooleanField(null=True, blank=True)
    preferred_written_format = models.CharField(max_length=2, blank=True, default="", db_default="")
    preferred_contact_method = models.CharField(max_length=2, blank=True, default="", db_default="")
    preferred_contact_times = models.CharField(max_length=40, blank=True, default="", db_default="")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        permissions = [
            ("view_patient_record", "Can look up and view patient records"),
            ("amend_patient_record", "Can amend patient records"),
            ("view_sensitive_record", "Can see the address of S-flagged patients"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(death_date__isnull=True, death_status="") | Q(death_date__isnull=False),
                name="pds_patient_death_status_needs_date",
            )
        ]
        # Trace and search find candidates by birth date first (about 30 people share a birth date
        # in a million), never by scanning the table.
        indexes = [models.Index(fields=["birth_date"], name="pds_patient_birth_date")]

    def __str__(self) -> str:
        return f"Patient {self.pk}"

    @property
    def usual_name(self) -> "PatientName | None":
        return next((n for n in self.names.all() if n.use == PatientName.Use.USUAL and n.end is None), None)

    @property
    def current_address(self) -> "PatientAddress | None":
        return next((a for a in self.addresses.all() if a.end is None), None)

    @property
    def current_gp(self) -> "GPPeriod | None":
        return next((p for p in self.gp_periods.all() if p.end is None), None)


@pghistory.track(*_trackers(), model_name="PatientNameEvent", append_only=True)
class PatientName(models.Model):
    """A name with its use and period. A record has exactly one current usual name."""

    class Use(models.TextChoices):
        USUAL = "usual", "Usual"
        TEMP = "temp", "Temporary"
        NICKNAME = "nickname", "Nickname"
        OLD = "old", "Old"
        MAIDEN = "maiden", "Maiden"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="names")
    use = models.CharField(max_length=10, choices=Use.choices, default=Use.USUAL)
    prefix = models.CharField(max_length=35, blank=True)
    given = ArrayField(models.CharField(max_length=35), default=list, blank=True)
    family = models.CharField(max_length=35)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(use="usual", end__isnull=True), name="pds_one_current_usual_name"
            )
        ]
        # Pattern ops serve both equality and prefix (LIKE 'SMI%') searches on the upper-cased surname.
        indexes = [models.Index(OpClass(Upper("family"), name="varchar_pattern_ops"), name="pds_name_family_prefix")]

    def __str__(self) -> str:
        return " ".join([*self.given, self.family])


def normalise_postcode(postcode: str) -> str:
    """Upper case with exactly one space before the inward code, as PDS stores it."""
    compact = "".join(postcode.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


@pghistory.track(*_trackers(), model_name="PatientAddressEvent", append_only=True)
class PatientAddress(models.Model):
    """A home address with its period; the one without an end is current."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="addresses")
    house = models.CharField(max_length=35, blank=True)
    road = models.CharField(max_length=35, blank=True)
    locality = models.CharField(max_length=35, blank=True)
    post_town = models.CharField(max_length=35, blank=True)
    county = models.CharField(max_length=35, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(end__isnull=True), name="pds_one_current_address")
        ]
        # Postcodes are stored normalised ("LS1 4AP"), so equality and prefix ("LS1*") use this index.
        indexes = [models.Index(OpClass("postcode", name="varchar_pattern_ops"), name="pds_address_postcode")]

    def __str__(self) -> str:
        return ", ".join([*self.lines, self.postcode])

    def save(self, *args, **kwargs):
        self.postcode = normalise_postcode(self.postcode)
        super().save(*args, **kwargs)

    @property
    def lines(self) -> list[str]:
        return [x for x in (self.house, self.road, self.locality, self.post_town, self.county) if x]


@pghistory.track(*_trackers(), model_name="GPPeriodEvent", append_only=True)
class GPPeriod(models.Model):
    """A period of registration with a GP practice (PDS "generalPractitioner" history)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="gp_periods")
    practice_ods = models.CharField(max_length=10)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)
    # Why a period ended without a new registration: a GP Links deduction reason or a PDS removal code (DEA, EMB…).
    removal_reason = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(end__isnull=True), name="pds_one_current_gp"),
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="pds_gp_period_order"
            ),
        ]
        indexes = [models.Index(fields=["practice_ods", "end"])]

    def __str__(self) -> str:
        return f"{self.practice_ods} from {self.start}"


@pghistory.track(*_trackers(), model_name="SupersededNumberEvent", append_only=True)
class SupersededNumber(models.Model):
    """An NHS number merged away into a retained record; reads of it answer with the retained one."""

    nhs_number = models.CharField(max_length=10, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="superseded_numbers")
    superseded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"superseded number {self.pk}"


@pghistory.track(*_trackers(), model_name="PatientTelecomEvent", append_only=True)
class PatientTelecom(models.Model):
    """A contact point (phone, email). Hidden, like the address, on S-flagged records."""

    class System(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        FAX = "fax", "Fax"
        OTHER = "other", "Other"

    class Use(models.TextChoices):
        HOME = "home", "Home"
        WORK = "work", "Work"
        TEMP = "temp", "Temporary"
        MOBILE = "mobile", "Mobile"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="telecoms")
    system = models.CharField(max_length=5, choices=System.choices)
    use = models.CharField(max_length=6, choices=Use.choices, default=Use.HOME)
    value = models.CharField(max_length=90)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "system", "use"], condition=Q(end__isnull=True), name="pds_one_current_telecom"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system} ({self.use})"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for the FHIR API. Only its SHA-256 is stored; the token itself is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pds_api_tokens")
    name = models.CharField(max_length=60, help_text="What the token is for, e.g. the system that holds it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False, help_text="The first characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user, name: str) -> tuple["ApiToken", str]:
        """Create a token for `user`; returns the row and the raw token, which is never stored."""
        raw = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:8])
        return token, raw
