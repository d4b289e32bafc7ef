from django.contrib import admin

from .models import GPPeriod, Patient, PatientAddress, PatientName


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
