"""Django admin for reference data: how administrators manage HAs, practices, GPs and links."""

from django.contrib import admin

from .models import GP, HealthAuthority, Interchange, Link, OutboxItem, Practice, Registration, Transaction


class ReadOnlyAuditMixin:
    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "updated_at")


@admin.register(HealthAuthority)
class HealthAuthorityAdmin(ReadOnlyAuditMixin, admin.ModelAdmin):
    list_display = (
        "cipher",
        "name",
        "nation",
        "link_code",
        "migrated",
        "cutover_date",
        "nhais_mailbox",
        "last_tn_sent",
    )
    list_filter = ("nation", "migrated")
    search_fields = ("cipher", "name", "link_code")
    list_editable = ("migrated", "cutover_date")
    fieldsets = (
        (None, {"fields": ("cipher", "name", "nation", "link_code")}),
        (
            "Cut-over to PCRM",
            {
                "fields": ("migrated", "cutover_date", "nhais_mailbox"),
                "description": "Until an HA is migrated and its cut-over date has come, its "
                "traffic is forwarded untouched to its NHAIS mailbox.",
            },
        ),
        (
            "Sequence numbers",
            {"fields": ("last_tn_sent",), "description": "Seed from NHAIS's live value when a region migrates."},
        ),
        ("Audit", {"fields": ("updated_at",)}),
    )


class GPInline(admin.TabularInline):
    model = GP
    extra = 1
    fields = ("national_code", "local_code", "name", "active")


class LinkInline(admin.TabularInline):
    model = Link
    extra = 0
    fields = ("ha", "active", "last_sis_sent", "last_sms_sent", "last_sis_received", "last_sms_received")


@admin.register(Practice)
class PracticeAdmin(ReadOnlyAuditMixin, admin.ModelAdmin):
    list_display = ("ods_code", "name", "ha", "link_code", "mesh_mailbox", "active")
    list_filter = ("active", "ha__nation", "ha")
    search_fields = ("ods_code", "name", "link_code", "postcode")
    list_select_related = ("ha",)
    autocomplete_fields = ("ha",)
    inlines = [GPInline, LinkInline]


@admin.register(GP)
class GPAdmin(admin.ModelAdmin):
    list_display = ("national_code", "local_code", "name", "practice", "active")
    list_filter = ("active", "practice__ha")
    search_fields = ("national_code", "local_code", "name", "practice__ods_code")
    list_select_related = ("practice",)
    autocomplete_fields = ("practice",)


@admin.register(Link)
class LinkAdmin(ReadOnlyAuditMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "practice",
        "ha",
        "active",
        "last_sis_sent",
        "last_sms_sent",
        "last_sis_received",
        "last_sms_received",
    )
    list_filter = ("active", "ha")
    search_fields = ("practice__ods_code", "practice__link_code", "ha__cipher")
    list_select_related = ("practice", "ha")
    autocomplete_fields = ("practice", "ha")


class ReadOnlyAdmin(admin.ModelAdmin):
    """The interchange log is evidence: visible to admins, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Interchange)
class InterchangeAdmin(ReadOnlyAdmin):
    list_display = ("id", "direction", "workflow", "sender", "recipient", "sis", "status", "recep_code", "created_at")
    list_filter = ("direction", "workflow", "status")
    search_fields = ("sender", "recipient", "mesh_message_id")
    exclude = ("raw",)


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "tn", "sender", "recipient", "sis", "sms", "status", "received_at")
    list_filter = ("type", "status")
    search_fields = ("sender", "tn")


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "tx_type", "status", "mesh_recipient", "tn", "created_at")
    list_filter = ("kind", "status", "tx_type")


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("id", "practice", "acceptance_type", "acceptance_code", "acceptance_date", "deducted_on")
    list_filter = ("acceptance_type", "acceptance_code")
