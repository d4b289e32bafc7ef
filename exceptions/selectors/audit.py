"""Reads for the audit log pages: the entries a search looks through. Nothing here writes (writing an
entry is exceptions.services.audit)."""

from exceptions.models import AuditEvent


def audit_events():
    """Every audit entry with the person who made it; the search narrows it and the page orders it."""
    return AuditEvent.objects.select_related("user")
