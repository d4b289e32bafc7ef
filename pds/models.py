"""The embedded Personal Demographics Service: the national master of who a patient is.

A patient's names, addresses and registered-GP periods are separate rows with periods, so that
history is kept and "as at" questions (capitation) can be answered. Every change bumps
`Patient.version`, which is what optimistic concurrency and the FHIR ETag are built on.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


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


class Patient(models.Model):
    nhs_number = models.CharField(max_length=10, unique=True)
    gender = models.CharField(max_length=1, choices=Gender.choices, default=Gender.NOT_KNOWN)
    birth_date = models.DateField(null=True, blank=True)
    place_of_birth = models.CharField(max_length=60, blank=True)
    death_date = models.DateField(null=True, blank=True)
    death_status = models.CharField(max_length=10, choices=DeathStatus.choices, blank=True)
    # "S" (restricted): address and contact details are hidden from roles not cleared to see them.
    sensitive = models.BooleanField(default=False)
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


class PatientName(models.Model):
    class Use(models.TextChoices):
        USUAL = "usual", "Usual"
        OLD = "old", "Old"
        MAIDEN = "maiden", "Maiden"
        NICKNAME = "nickname", "Nickname"

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
        indexes = [models.Index(models.functions.Upper("family"), name="pds_name_family_upper")]

    def __str__(self) -> str:
        return " ".join([*self.given, self.family])


def normalise_postcode(postcode: str) -> str:
    """Upper case with exactly one space before the inward code, as PDS stores it."""
    compact = "".join(postcode.split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


class PatientAddress(models.Model):
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
        indexes = [models.Index(fields=["postcode"])]

    def __str__(self) -> str:
        return ", ".join([*self.lines, self.postcode])

    def save(self, *args, **kwargs):
        self.postcode = normalise_postcode(self.postcode)
        super().save(*args, **kwargs)

    @property
    def lines(self) -> list[str]:
        return [x for x in (self.house, self.road, self.locality, self.post_town, self.county) if x]


class GPPeriod(models.Model):
    """A period of registration with a GP practice (PDS "generalPractitioner" history)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="gp_periods")
    practice_ods = models.CharField(max_length=10)
    start = models.DateField()
    end = models.DateField(null=True, blank=True)

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


class SupersededNumber(models.Model):
    """An NHS number merged away into a retained record; reads of it answer with the retained one."""

    nhs_number = models.CharField(max_length=10, unique=True)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="superseded_numbers")
    superseded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"superseded number {self.pk}"
