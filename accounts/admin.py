from django.contrib import admin

from core.admin import LabelledListEditableMixin, LabelledSplitDateTimeMixin

from .models import BreakGlassAccount, NationalRoleMapping, StaffIdentity


@admin.register(NationalRoleMapping)
class NationalRoleMappingAdmin(LabelledListEditableMixin, admin.ModelAdmin):
    """The table that turns a CIS2 role profile into PCRM roles. A change applies from each person's next
    sign-in (permissions are worked out at sign-in, never carried over)."""

    list_display = ("code", "description", "organisation", "pcrm_role", "active")
    list_filter = ("pcrm_role", "active")
    list_editable = ("active",)
    search_fields = ("code", "description", "organisation")


@admin.register(StaffIdentity)
class StaffIdentityAdmin(admin.ModelAdmin):
    list_display = ("uid", "user", "last_sign_in")
    search_fields = ("uid", "user__username", "user__first_name", "user__last_name")
    readonly_fields = ("uid", "user", "last_sign_in")


@admin.register(BreakGlassAccount)
class BreakGlassAccountAdmin(LabelledSplitDateTimeMixin, admin.ModelAdmin):
    list_display = ("user", "expires_at", "created_at")
    # Typed by id with a lookup: the admin's select2 autocomplete has no accessible name (axe).
    raw_id_fields = ("user",)
