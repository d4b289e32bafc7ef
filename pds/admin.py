from django.contrib import admin

from .models import ApiToken, GPPeriod, Patient, PatientAddress, PatientName


class NameInline(admin.TabularInline):
    model = PatientName
    extra = 0


class AddressInline(admin.TabularInline):
    model = PatientAddress
    extra = 0


class GPPeriodInline(admin.TabularInline):
    model = GPPeriod
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("nhs_number", "gender", "birth_date", "death_date", "sensitive", "version")
    search_fields = ("=nhs_number",)
    list_filter = ("sensitive", "gender")
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = [NameInline, AddressInline, GPPeriodInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py pds_token`; here they can be seen and revoked, never read."""

    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at")
    fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")

    def has_add_permission(self, request) -> bool:
        return False
