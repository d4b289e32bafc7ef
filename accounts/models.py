from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class NationalRoleMapping(models.Model):
    """One row of the table an administrator edits: a national RBAC code grants a PCRM role.

    A CIS2 role profile carries a job role code (the R… part of `role_code`) and activity codes (B…).
    Each row whose code the selected role profile carries — and whose organisation, when given, is the
    role profile's — grants its PCRM role, i.e. that role's activity-named permissions. A role profile
    that matches no row grants nothing.
    """

    code = models.CharField(
        max_length=10,
        validators=[RegexValidator(r"^[BR]\d{4}$", "A national RBAC activity code (B0825) or job role code (R8008).")],
        help_text="A national RBAC activity code (B…) or job role code (R…) from the CIS2 role profile.",
    )
    description = models.CharField(max_length=200, blank=True, help_text="What the code means, for the next reader.")
    organisation = models.CharField(
        max_length=10,
        blank=True,
        help_text="Only for role profiles at this organisation (ODS code). Blank: any organisation.",
    )
    pcrm_role = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="national_role_mappings", verbose_name="PCRM role"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code", "organisation"]
        verbose_name = "national role mapping"
        constraints = [
            models.UniqueConstraint(fields=["code", "organisation", "pcrm_role"], name="acc_mapping_unique"),
        ]

    def __str__(self) -> str:
        where = f" at {self.organisation}" if self.organisation else ""
        return f"{self.code}{where} → {self.pcrm_role.name}"


class StaffIdentity(models.Model):
    """Links a CIS2 identity (its `nhsid_useruid`, the smartcard's user id) to a PCRM user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cis2_identity")
    uid = models.CharField("CIS2 user id (nhsid_useruid)", max_length=40, unique=True)
    last_sign_in = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "CIS2 identity"
        verbose_name_plural = "CIS2 identities"

    def __str__(self) -> str:
        return f"{self.uid} ({self.user})"


class BreakGlassAccount(models.Model):
    """A local account allowed a password sign-in when password sign-in is restricted to break-glass
    (PCRM_PASSWORD_SIGN_IN=break-glass): for when CIS2 is down. Each such sign-in is audited."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="break_glass")
    reason = models.TextField(help_text="Why this account exists and who approved it.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Blank: until removed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "break-glass account"

    def __str__(self) -> str:
        return f"break-glass: {self.user}"

    @classmethod
    def active_for(cls, user) -> "BreakGlassAccount | None":
        now = timezone.now()
        return cls.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), user=user).first()


class TypedWork(models.Model):
    """What a person had typed into a page's form when their session ended, kept for a few minutes so
    that, signed in again, they find it back in the form (#16 item 6, ADR 0020).

    Bound to the person who was signed in (never only to a browser), sealed (encrypted and
    authenticated with a key derived from the secret key, naming the person and page inside), one row per
    person and page, deleted when used and after `expires_at`. accounts.typed_work is its only user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # A keyed digest of the page's path (accounts.typed_work.page_digest), not the path: a queue URL may
    # carry a search for a patient's name. The path itself is inside the seal.
    page = models.CharField(max_length=500)
    sealed = models.BinaryField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "page"], name="acc_typed_work_one_per_page")]

    def __str__(self) -> str:
        return f"Typed work for user {self.user_id}"
