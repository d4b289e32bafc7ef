"""Template filters for pipeline records: `{% load pipeline %}`; words and colours are registrations.presenters'."""

from django import template

from core.presenters import Tag

from .. import presenters

register = template.Library()


@register.filter
def interchange_status_tag(status: str) -> Tag:
    return presenters.interchange_status_tag(status)
