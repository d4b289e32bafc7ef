"""`{% load patients %}`: an NHS number shown as a link to the patient's record, for those who may open it.

The patient page is itself audited (pds.views), so following the link records the view; the link only
saves the person retyping the number into Find a patient. Anyone whose role cannot open patient records
sees the number as plain text.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from core.nhs_number import format_nhs_number, is_valid
from core.roles import Perm

register = template.Library()


def can_open(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(Perm.VIEW_PATIENT_RECORD))


def patient_href(user, number: str | None) -> str:
    """The patient page's address for this number, or "" when it is not a number or not this user's to open."""
    if not number or not is_valid(number) or not can_open(user):
        return ""
    return reverse("pds:patient-detail", args=[number])


@register.simple_tag(takes_context=True)
def patient_link(context, number: str | None, link_id: str = ""):
    """`{% patient_link case.nhs_number %}` -> <a href="/patients/9434765919/">943 476 5919</a>."""
    request = context.get("request")
    href = patient_href(getattr(request, "user", None) or context.get("user"), number)
    shown = format_nhs_number(number) if number else ""
    if not href:
        return shown
    if link_id:
        return format_html('<a class="nhsuk-link pcrm-nowrap" href="{}" id="{}">{}</a>', href, link_id, shown)
    return format_html('<a class="nhsuk-link pcrm-nowrap" href="{}">{}</a>', href, shown)
