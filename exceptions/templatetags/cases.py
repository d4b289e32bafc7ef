"""Template filters for exception cases: `{% load cases %}`; the words and colours are exceptions.presenters'."""

from django import template

from core.presenters import Tag

from .. import presenters

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    """`{{ case.kind|kind_label }}` -> "No trace"."""
    return presenters.kind_label(kind)


@register.filter
def kind_tag(kind: str) -> Tag:
    return presenters.kind_tag(kind)


@register.filter
def assignee(case) -> str:
    return presenters.assignee(case)


@register.filter
def case_status_tag(status: str) -> Tag:
    return presenters.case_status_tag(status)
