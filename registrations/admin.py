"""Django admin for reference data: how administrators manage HAs, practices, GPs and links.

Codes are checked against their formats (registrations.reference_forms). Two things are never a plain
edit: whether an HA is served by PCRM (the migration app's cut-over page, with its checklist, date and
confirmation) and the sequence counters (a guarded page asking why, recorded with who in the change history).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html

from core.admin import LabelledTabularInline

from .models import GP, HealthAuthority, Interchange, Link, OutboxItem, Practice, Registration, Transaction
from .reference_forms import CounterChangeForm, GPForm, HealthAuthorityForm, PracticeForm


class ReadOnlyAuditMixin:
    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "updated_at")


class GuardedCountersMixin:
    """Sequence counters are read-only on the change form; "Change sequence numbers" opens a page that asks
    for the new values, a reason and a confirmation, and records who changed what and why."""

    counter_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *self.counter_fields, "change_counters")

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_counters"
        return [
            path("<int:pk>/counters/", self.admin_site.admin_view(self.counters_view), name=name),
            *super().get_urls(),
        ]

    @admin.display(description="Sequence numbers")
    def change_counters(self, obj):
        if obj is None or obj.pk is None:
            return "Set after saving, through “Change sequence numbers”."
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_counters", args=[obj.pk])
        return format_html('<a href="{}">Change sequence numbers</a> (asks why, and records it)', url)

    def counters_view(self, request, pk: int):
        obj = get_object_or_404(self.model, pk=pk)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        form = CounterChangeForm(request.POST or None, obj=obj, counter_fields=self.counter_fields)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                locked = self.model.objects.select_for_update().get(pk=obj.pk)
                changes = form.changes(locked)
                for name, (_, new) in changes.items():
                    setattr(locked, name, new)
                locked.save(update_fields=[*changes, "updated_at"])
                said = "; ".join(f"{name} {old} → {new}" for name, (old, new) in changes.items()) or "no change"
                # Django's change history (LogEntry) records who; the message records what and why.
                self.log_change(request, locked, f"Sequence numbers: {said}. Reason: {form.cleaned_data['reason']}")
            messages.success(request, f"Sequence numbers for {locked}: {said}.")
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", obj.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change sequence numbers: {obj}",
            "opts": self.model._meta,
            "original": obj,
            "form": form,
        }
        return TemplateResponse(request, "admin/registrations/counters.html", context)


def _cut_over_url(ha: HealthAuthority) -> str | None:
    try:
        return reverse("migration:readiness", args=[ha.cipher])
    except NoReverseMatch:  # the migration app is not installed
        return None


@admin.register(HealthAuthority)
class HealthAuthorityAdmin(GuardedCountersMixin, ReadOnlyAuditMixin, admin.ModelAdmin):
    form = HealthAuthorityForm
    counter_fields = ("last_tn_sent",)
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
    fieldsets = (
        (None, {"fields": ("cipher", "name", "nation", "link_code")}),
        (
            "Cut-over to PCRM",
            {
                "fields": ("migrated", "cutover_date", "cut_over", "nhais_mailbox"),
                "description": "Until an HA is migrated and its cut-over date has come, its "
                "traffic is forwarded untouched to its NHAIS mailbox. Cutting over (or back) is done on the "
                "HA's migration page, which checks readiness, asks for the date and confirms what changes.",
            },
        ),
        (
            "Sequence numbers",
            {
                "fields": ("last_tn_sent", "change_counters"),
                "description": "Seed from NHAIS's live value when a region migrates.",
            },
        ),
        ("Audit", {"fields": ("updated_at",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "migrated", "cutover_date", "cut_over")

    @admin.display(description="Cut over or back")
    def cut_over(self, obj):
        url = _cut_over_url(obj) if obj is not None and obj.pk else None
        if url is None:
            return "Save the HA first; then cut over from its migration page."
        return format_html('<a href="{}">Open the migration page for {}</a>', url, obj.cipher)


class GPInline(LabelledTabularInline, admin.TabularInline):
    model = GP
    form = GPForm
    extra = 1
    fields = ("national_code", "local_code", "name", "active")


class LinkInline(LabelledTabularInline, admin.TabularInline):
    model = Link
    extra = 0
    fields = ("ha", "active", "last_sis_sent", "last_sms_sent", "last_sis_received", "last_sms_received")
    # Counters change only on the link's own guarded page (LinkAdmin).
    readonly_fields = ("last_sis_sent", "last_sms_sent", "last_sis_received", "last_sms_received")


@admin.register(Practice)
class PracticeAdmin(ReadOnlyAuditMixin, admin.ModelAdmin):
    form = PracticeForm
    list_display = ("ods_code", "name", "ha", "link_code", "mesh_mailbox", "active")
    list_filter = ("active", "ha__nation", "ha")
    search_fields = ("ods_code", "name", "link_code", "postcode")
    list_select_related = ("ha",)
    # A plain select (89 HAs): the admin's select2 autocomplete has no accessible name (axe).
    inlines = [GPInline, LinkInline]


@admin.register(GP)
class GPAdmin(admin.ModelAdmin):
    form = GPForm
    list_display = ("national_code", "local_code", "name", "practice", "active")
    list_filter = ("active", "practice__ha")
    search_fields = ("national_code", "local_code", "name", "practice__ods_code")
    list_select_related = ("practice",)
    # Thousands of practices: typed by id with a lookup, rather than select2 (no accessible name).
    raw_id_fields = ("practice",)


@admin.register(Link)
class LinkAdmin(GuardedCountersMixin, ReadOnlyAuditMixin, admin.ModelAdmin):
    counter_fields = ("last_sis_sent", "last_sms_sent", "last_sis_received", "last_sms_received")
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
    raw_id_fields = ("practice",)


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
