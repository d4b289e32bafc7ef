"""`{% load registration_details %}{% pcrm_registrations nhs_number %}`: what PCRM holds about a patient's
registrations that PDS does not (GP, dispensing marker, residential institute code) and any deduction
held for a date, for the patient page. Reads only, through registrations.selectors."""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("registrations/_patient_registrations.html")
def pcrm_registrations(nhs_number: str) -> dict:
    return {
        "registrations": selectors.registrations_of(nhs_number),
        "waiting": selectors.waiting_deduction(nhs_number),
    }
