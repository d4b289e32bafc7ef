from django.contrib import admin

from .models import AuditEvent, CaseEvent, ExceptionCase


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "user", "system", "action", "reason_code", "note")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "practice_ods", "opened_at", "due_at", "assigned_to")
    list_filter = ("kind", "status")
    readonly_fields = (
        "kind",
        "summary",
        "transaction",
        "interchange",
        "evidence",
        "rule_trace",
        "opened_at",
        "closed_at",
        "closed_by",
    )
    inlines = [CaseEventInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "role", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
