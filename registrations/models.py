"""Registrations: GP Links reference data, the interchange log and its state machine, the outbox.

Inbound interchanges are stored raw before they are acknowledged to MESH; every transaction moves
through the state machine in docs/architecture.md one database transaction at a time.
"""

from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property

from . import gplinks
from .gplinks.jsonio import transaction_from_json, transaction_to_json
from .gplinks.model import ITEM_FIELDS


class Nation(models.TextChoices):
    ENGLAND = "England"
    WALES = "Wales"
    ISLE_OF_MAN = "Isle of Man"
    DEFENCE = "Defence Medical Services"
    NORTHERN_IRELAND = "Northern Ireland"


class HealthAuthority(models.Model):
    cipher = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=80)
    nation = models.CharField(max_length=30, choices=Nation.choices)
    link_code = models.CharField("HA link code", max_length=4, unique=True)
    migrated = models.BooleanField("migrated to PCRM", default=False)
    cutover_date = models.DateField("cut-over date", null=True, blank=True)
    nhais_mailbox = models.CharField("NHAIS MESH mailbox", max_length=20, blank=True)
    # TN is numbered per sender, and PCRM sends as the HA: one series per HA link code.
    last_tn_sent = models.PositiveBigIntegerField("last TN sent", default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cipher"]
        verbose_name_plural = "health authorities"

    def __str__(self) -> str:
        return f"{self.cipher} {self.name}"

    def is_served_by_pcrm(self, on) -> bool:
        return self.migrated and (self.cutover_date is None or self.cutover_date <= on)


class Practice(models.Model):
    ods_code = models.CharField("ODS code", max_length=10, unique=True)
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=200, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="practices", verbose_name="HA")
    link_code = models.CharField("GP Links trading-partner code", max_length=4, unique=True)
    mesh_mailbox = models.CharField("MESH mailbox", max_length=20)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ods_code"]

    def __str__(self) -> str:
        return f"{self.ods_code} {self.name}"


class GP(models.Model):
    national_code = models.CharField("national GP code", max_length=7)
    local_code = models.CharField("HA local GP code", max_length=6)
    name = models.CharField(max_length=80, blank=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="gps")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "GP"
        verbose_name_plural = "GPs"
        ordering = ["national_code"]
        constraints = [models.UniqueConstraint(fields=["national_code", "local_code"], name="reg_gp_code_unique")]

    def __str__(self) -> str:
        return f"{self.gp_code} {self.name}".strip()

    @property
    def gp_code(self) -> str:
        return f"{self.national_code},{self.local_code}"


class Link(models.Model):
    """A GP Links trading-partner link between a practice and an HA, with its sequence counters.

    Counters are seedable in Django admin: a link migrating from NHAIS continues its live numbers.
    """

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="links")
    ha = models.ForeignKey(HealthAuthority, on_delete=models.PROTECT, related_name="links", verbose_name="HA")
    active = models.BooleanField(default=True)
    last_sis_sent = models.PositiveBigIntegerField("last SIS sent", default=0)
    last_sms_sent = models.PositiveBigIntegerField("last SMS sent", default=0)
    last_sis_received = models.PositiveBigIntegerField("last SIS received", default=0)
    last_sms_received = models.PositiveBigIntegerField("last SMS received", default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "ha"], name="reg_link_unique")]

    def __str__(self) -> str:
        return f"{self.practice.link_code} ↔ {self.ha.link_code}"


class Direction(models.TextChoices):
    INBOUND = "in", "Inbound"
    OUTBOUND = "out", "Outbound"


class InterchangeStatus(models.TextChoices):
    RECEIVED = "RECEIVED", "Received"
    PARSED = "PARSED", "Parsed"
    INVALID = "INVALID", "Invalid"
    DUPLICATE = "DUPLICATE", "Duplicate"
    FORWARDED = "FORWARDED", "Forwarded to NHAIS"
    REPORT = "REPORT", "MESH report"
    RECEP = "RECEP", "RECEP processed"
    BUILT = "BUILT", "Built, not yet sent"
    SENT = "SENT", "Sent"
    ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged by RECEP"
    NEGATIVE = "NEGATIVE", "Rejected by a negative RECEP"
    QUARANTINED = "QUARANTINED", "Quarantined: could not be stored normally"
    UNHANDLED = "UNHANDLED", "Not GP Links traffic (other workflow)"
    HELD = "HELD", "Held: partner not authenticated"


class Interchange(models.Model):
    direction = models.CharField(max_length=3, choices=Direction.choices)
    workflow = models.CharField(max_length=20)
    mesh_message_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    local_id = models.CharField(max_length=64, blank=True)
    mesh_sender = models.CharField(max_length=20, blank=True)
    mesh_recipient = models.CharField(max_length=20, blank=True)
    raw = models.BinaryField()
    # Every MESH header exactly as received (names lower-cased), whatever its length: the columns
    # above hold bounded copies for searching.
    mesh_headers = models.JSONField(default=dict, blank=True)
    # A person fed it in locally (`gplinks ingest`), vouching for the sender in place of MESH.
    replayed_by = models.CharField(max_length=150, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    sender = models.CharField(max_length=10, blank=True)
    recipient = models.CharField(max_length=10, blank=True)
    sis = models.PositiveBigIntegerField(null=True, blank=True)
    prepared_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=InterchangeStatus.choices)
    error = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    link = models.ForeignKey(Link, null=True, blank=True, on_delete=models.PROTECT, related_name="interchanges")
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recep_code = models.CharField("RECEP code", max_length=2, blank=True)
    recep_at = models.DateTimeField("RECEP received", null=True, blank=True)
    recep_overdue_at = models.DateTimeField("missing RECEP reported", null=True, blank=True)
    # Outbound: the partner's RECEP interchange that answered this one.
    answered_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="answered")
    # Unexpected failures while reading it; bounded, after which it is INVALID with a case.
    ingest_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["direction", "sender", "recipient", "sis"]),
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["-created_at"]),
        ]
        permissions = [("view_pipeline", "Can view interchanges and pipeline health")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.sender}→{self.recipient} SIS {self.sis}"


class Message(models.Model):
    interchange = models.ForeignKey(Interchange, on_delete=models.CASCADE, related_name="messages")
    sms = models.PositiveBigIntegerField()
    # "RECEP" for the one message of a RECEP interchange, so its SMS counts in the partner's sequence.
    type = models.CharField(max_length=5)
    ha_cipher = models.CharField(max_length=3)
    # Inbound: the code PCRM answered in its RECEP; outbound: the code the partner answered.
    recep_code = models.CharField(max_length=2, blank=True)
    error = models.TextField(blank=True, help_text="why the message could not be read (RECEP code CA)")

    class Meta:
        ordering = ["sms"]

    def __str__(self) -> str:
        return f"{self.type} SMS {self.sms}"


class TxStatus(models.TextChoices):
    RECEIVED = "RECEIVED", "Received"
    PARSED = "PARSED", "Parsed"
    PROCESSING = "PROCESSING", "Processing"
    DONE = "DONE", "Done"
    MANUAL = "MANUAL", "Manual"
    REJECTED = "REJECTED", "Rejected"
    RETRY_WAIT = "RETRY_WAIT", "Waiting to retry"
    DEAD = "DEAD", "Dead letter"
    INVALID = "INVALID", "Invalid"
    DUPLICATE = "DUPLICATE", "Duplicate"
    FORWARDED = "FORWARDED", "Forwarded"


class TransactionQuerySet(models.QuerySet):
    def inbound(self):
        return self.filter(message__interchange__direction=Direction.INBOUND)

    def waiting(self):
        return self.filter(status__in=[TxStatus.PARSED, TxStatus.PROCESSING, TxStatus.RETRY_WAIT])


class Transaction(models.Model):
    """One inbound GP Links transaction; unique on (sender, recipient, SIS, SMS, TN) unless a duplicate."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="transactions")
    sender = models.CharField(max_length=10)
    recipient = models.CharField(max_length=10)
    sis = models.PositiveBigIntegerField()
    sms = models.PositiveBigIntegerField()
    tn = models.PositiveBigIntegerField()
    type = models.CharField(max_length=4)
    status = models.CharField(max_length=12, choices=TxStatus.choices, default=TxStatus.PARSED)
    is_duplicate = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    data = models.JSONField(help_text="the transaction as the codec parsed it")
    nhs_number = models.CharField(max_length=15, blank=True, db_index=True)
    gp_code = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    outcome = models.TextField(blank=True)
    rule_trace = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "recipient", "sis", "sms", "tn"],
                condition=Q(is_duplicate=False),
                name="reg_tx_natural_key",
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.type} TN {self.tn} from {self.sender}"

    @cached_property
    def parsed(self) -> gplinks.Transaction:
        """The codec's typed transaction, built once (per loaded row) from what is stored in `data`.

        Rules and services read items from this, never from the JSON: an item not sent is ABSENT, an
        erased one None, dates are dates (ADR 0018). `data` is written once, when the interchange is
        read, and never changed, so this copy cannot go stale.
        """
        return transaction_from_json(self.data)


class OutboxKind(models.TextChoices):
    TRANSACTION = "TX", "GP Links transaction"
    RECEP = "RECEP", "RECEP"
    FORWARD = "FORWARD", "Forward to NHAIS"


class OutboxStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    BATCHED = "BATCHED", "Batched into an interchange"
    REFUSED = "REFUSED", "Refused: could not be built (a case says why)"


class OutboxItem(models.Model):
    """Written in the same database transaction as the change that caused it; the relay sends it."""

    kind = models.CharField(max_length=8, choices=OutboxKind.choices)
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    link = models.ForeignKey(Link, null=True, blank=True, on_delete=models.PROTECT, related_name="outbox")
    mesh_recipient = models.CharField(max_length=20, blank=True)
    tx_type = models.CharField(max_length=4, blank=True)
    ha_cipher = models.CharField(max_length=3, blank=True)
    # For F3/F4 the TN quotes the GP's acceptance; otherwise the relay allocates the HA's next TN.
    quoted_tn = models.PositiveBigIntegerField(null=True, blank=True)
    tn = models.PositiveBigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, help_text="why it was refused")
    caused_by = models.ForeignKey(Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="outbound")
    in_reply_to = models.ForeignKey(
        Interchange, null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    interchange = models.ForeignKey(
        Interchange, null=True, blank=True, on_delete=models.PROTECT, related_name="outbox_items"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            # One RECEP per received interchange, however often processing is retried.
            models.UniqueConstraint(fields=["in_reply_to"], condition=Q(kind="RECEP"), name="reg_one_recep"),
            models.UniqueConstraint(fields=["in_reply_to"], condition=Q(kind="FORWARD"), name="reg_one_forward"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_type} ({self.status})"

    # The F-transaction a TRANSACTION item sends, typed (ADR 0018). Producers hand over a codec
    # Transaction and the relay reads one back: `payload` (JSON, so it can be queried and shown) is
    # written and read here and nowhere else. RECEP and FORWARD items carry no transaction.

    @property
    def outbound(self) -> gplinks.Transaction:
        """A fresh copy each time, numbered with the TN it goes out with (0 until the relay gives it one)."""
        return transaction_from_json({**self.payload, "type": self.tx_type, "tn": self.tn or self.quoted_tn or 0})

    @outbound.setter
    def outbound(self, tx: gplinks.Transaction) -> None:
        self.tx_type = tx.type
        self.payload = outbound_payload(tx)


def outbound_payload(tx: gplinks.Transaction) -> dict:
    """The items an outbound transaction carries (none that it does not send), in the codec's JSON form;
    an F8's quarter end too, which the relay puts in its message header."""
    as_json = transaction_to_json(tx)
    payload = {name: as_json[name] for name in ITEM_FIELDS if getattr(tx, name) is not gplinks.ABSENT}
    if tx.quarter_end is not gplinks.ABSENT:
        payload["quarter_end"] = tx.quarter_end.isoformat()
    return payload


class Registration(models.Model):
    """The registration history PCRM keeps: which practice accepted whom, when and how."""

    nhs_number = models.CharField(max_length=10, db_index=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="registrations")
    gp = models.ForeignKey(GP, null=True, blank=True, on_delete=models.PROTECT, related_name="registrations")
    acceptance_code = models.CharField(max_length=1, blank=True)
    acceptance_type = models.CharField(max_length=1, blank=True)
    acceptance_date = models.DateField()
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="registrations"
    )
    deducted_on = models.DateField(null=True, blank=True)
    deduction_reason = models.CharField(max_length=3, blank=True)
    # From HEA+DM and NAD+RIC on the G1 (and any G2 since): PDS holds neither, capitation counts both.
    dispensing = models.BooleanField("drugs dispensed (DM)", default=False)
    residential_institute = models.CharField("residential institute code (RIC)", max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [
            ("view_capitation", "Can view registrations and capitation reports"),
            ("close_quarter", "Can close a quarter and send capitation to PCSE"),
        ]

    def __str__(self) -> str:
        return f"registration at {self.practice_id} from {self.acceptance_date}"


class PendingDeductionStatus(models.TextChoices):
    PENDING = "PENDING", "Pending: waiting for its date"
    CANCELLED = "CANCELLED", "Cancelled"
    DEDUCTED = "DEDUCTED", "Deducted"


class PendingDeduction(models.Model):
    """A deduction decided but not yet carried out: held until `due_on` by a beat job.

    A G3 (out of area) starts one with the configured notice period; a G5 with a future date waits for
    that date. It is cancelled when the patient registers with another practice meanwhile (or a person
    cancels it), and deducts with `reason` on its date. One pending deduction per patient.
    """

    nhs_number = models.CharField(max_length=10, db_index=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="pending_deductions")
    gp = models.ForeignKey(GP, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("deduction reason", max_length=3)
    due_on = models.DateField("deducts on")
    status = models.CharField(
        max_length=10, choices=PendingDeductionStatus.choices, default=PendingDeductionStatus.PENDING
    )
    # What started it: the GP's G3/G5, or a case a person resolved (the case id; exceptions owns cases).
    transaction = models.ForeignKey(
        Transaction, null=True, blank=True, on_delete=models.PROTECT, related_name="pending_deductions"
    )
    case_id = models.PositiveBigIntegerField(null=True, blank=True)
    # The NHS number the GP used on the wire, quoted on the F2 when PCRM knows the patient by another.
    wire_number = models.CharField(max_length=10, blank=True)
    note = models.TextField(blank=True, help_text="why it was cancelled, or what the deduction did")
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["nhs_number"], condition=Q(status="PENDING"), name="reg_one_pending_deduction"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"deduction at {self.practice_id} on {self.due_on} ({self.status})"


class DeathNotice(models.Model):
    """A death PDS records for a patient registered with a practice PCRM serves, acted on once (#12).

    A formal death deducts the patient (F2 reason 1 with the date of death) and ends the registration;
    an informal one opens a case for a person instead. Unique on the patient and the notification's
    status, so a sweep that sees the same death again does nothing, and a later formal notification
    of an informal death still deducts.
    """

    class Outcome(models.TextChoices):
        DEDUCTED = "DEDUCTED", "Deducted (F2 reason 1)"
        CASE = "CASE", "A person checks it (informal death)"
        NOT_SENT = "NOT_SENT", "Registration ended; the practice is not told over GP Links"

    nhs_number = models.CharField(max_length=10)
    death_date = models.DateField()
    death_status = models.CharField(max_length=10)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    deduction = models.ForeignKey(OutboxItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rule_trace = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["nhs_number", "death_status"], name="reg_one_death_notice_per_status")
        ]

    def __str__(self) -> str:
        return f"death notice {self.death_status} ({self.outcome})"


class FP69Status(models.TextChoices):
    OPEN = "OPEN", "Open: waiting for the practice"
    REMOVED = "REMOVED", "Removed (F10 sent)"
    EXPIRED = "EXPIRED", "Expired: patient deducted"
    REVIEW = "REVIEW", "Expired: PDS changed since the notice, a person decides"
    SUPERSEDED = "SUPERSEDED", "Ended by another deduction"


class FP69Flag(models.Model):
    """An FP69 notice: PCRM doubts the patient still lives at the address (mail came back).

    The practice was told with an F9 and has until `expires_on` to confirm or correct the address;
    then the flag is removed (F10) or the patient deducted (F2). One open flag per patient.
    """

    nhs_number = models.CharField(max_length=10, db_index=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="fp69_flags")
    gp = models.ForeignKey(GP, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField("FP69 reason", max_length=2)
    status = models.CharField(max_length=10, choices=FP69Status.choices, default=FP69Status.OPEN)
    set_on = models.DateField()
    expires_on = models.DateField()
    set_by = models.CharField(max_length=150)
    note = models.TextField(blank=True)
    notice = models.ForeignKey(OutboxItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)
    closing = models.ForeignKey(OutboxItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "FP69 flag"
        constraints = [
            models.UniqueConstraint(fields=["nhs_number"], condition=Q(status="OPEN"), name="reg_one_open_fp69"),
        ]
        indexes = [models.Index(fields=["status", "expires_on"])]

    def __str__(self) -> str:
        return f"FP69 at {self.practice_id} until {self.expires_on} ({self.status})"


class QuarterStatus(models.TextChoices):
    GENERATING = "GENERATING", "Generating"
    GENERATED = "GENERATED", "Ready to send"
    SENT = "SENT", "Sent to PCSE"
    ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged by PCSE"
    FAILED = "FAILED", "Sending failed"


class QuarterClose(models.Model):
    """One closed quarter: the F8s it sent, the capitation snapshot taken as at its end, and delivery.

    Unique on the quarter end, so closing a quarter twice finds this row and does nothing new. The
    snapshot (lines, CSV and summary bytes) is stored once and never recomputed: a later change to
    PDS cannot alter a past quarter, and every download or resend is byte-identical.
    """

    quarter_end = models.DateField(unique=True)
    status = models.CharField(max_length=12, choices=QuarterStatus.choices, default=QuarterStatus.GENERATING)
    closed_by = models.CharField(max_length=150, help_text="the user, or the scheduler, that closed it")
    closed_at = models.DateTimeField(auto_now_add=True)
    f8_count = models.PositiveIntegerField("F8 notifications queued", default=0)
    task_id = models.CharField("generation task", max_length=50, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    patients = models.PositiveIntegerField(null=True, blank=True)
    csv = models.BinaryField(null=True, blank=True)
    csv_sha256 = models.CharField(max_length=64, blank=True)
    summary = models.BinaryField(null=True, blank=True)
    csv_message_id = models.CharField("CSV MESH message id", max_length=64, blank=True)
    summary_message_id = models.CharField("summary MESH message id", max_length=64, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # The other nations' reports (#12): {nation: {"csv": message id, "summary": message id}} once MESH
    # accepted each; PCSE (England) is the csv/summary above.
    nation_deliveries = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-quarter_end"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="GENERATING") | Q(generated_at__isnull=False, patients__isnull=False),
                name="reg_quarter_generated_has_snapshot",
            )
        ]

    def __str__(self) -> str:
        return f"quarter ending {self.quarter_end}"


class CapitationLine(models.Model):
    """One row of a stored snapshot: a practice, or one GP at a practice (gp_code "" = not attributed).

    `cells` holds the list by sex and age band in the CSV's column order (registrations.capitation).
    """

    class Level(models.TextChoices):
        PRACTICE = "PRACTICE", "Practice"
        GP = "GP", "GP"

    quarter = models.ForeignKey(QuarterClose, on_delete=models.CASCADE, related_name="lines")
    level = models.CharField(max_length=8, choices=Level.choices)
    practice_ods = models.CharField("practice", max_length=10)
    practice_name = models.CharField(max_length=100, blank=True)
    ha_cipher = models.CharField("HA", max_length=3, blank=True)
    # The HA's nation: each nation's payer gets its own practices only ("" = not in reference data).
    nation = models.CharField(max_length=30, blank=True)
    gp_code = models.CharField("GP code", max_length=20, blank=True)
    patients = models.PositiveIntegerField()
    male = models.PositiveIntegerField()
    female = models.PositiveIntegerField()
    other_sex = models.PositiveIntegerField()
    cells = models.JSONField(help_text="counts by sex and age band, in the CSV column order")
    acceptances = models.PositiveIntegerField(null=True, blank=True)
    deductions = models.PositiveIntegerField(null=True, blank=True)
    previous_patients = models.PositiveIntegerField(null=True, blank=True)
    change = models.IntegerField(null=True, blank=True)
    # Patients on the list whose registration carries the dispensing marker / a residential institute.
    dispensing = models.PositiveIntegerField(null=True, blank=True)
    residential = models.PositiveIntegerField("in a residential institute", null=True, blank=True)

    class Meta:
        ordering = ["practice_ods", "level", "gp_code"]
        constraints = [
            models.UniqueConstraint(fields=["quarter", "level", "practice_ods", "gp_code"], name="reg_capitation_line")
        ]

    def __str__(self) -> str:
        return f"{self.practice_ods} {self.gp_code}".strip()
