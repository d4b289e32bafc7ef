"""Template filters and tags every PCRM template may use: thin wrappers over core.presenters.

Load with `{% load pcrm %}`. Every decision (a label, a colour, which links a user sees) is made in
Python, in `core.presenters` (and each app's own presenters, through its own tag library: `cases` in
exceptions, `pipeline` in registrations), so templates only lay things out.
"""

from django import template
from django.core.paginator import Page
from django.utils.safestring import SafeString
from django_tables2.utils import AttributeDict

from .. import presenters

register = template.Library()


@register.filter
def nhs_number(value: str | None) -> str:
    """`{{ case.nhs_number|nhs_number }}` -> "943 476 5919"."""
    return presenters.nhs_number(value)


@register.filter
def nhs_date(value) -> str:
    """`{{ case.opened_at|nhs_date }}` -> "2 December 2026" (the one date format on every page)."""
    return presenters.nhs_date(value)


@register.filter
def nhs_datetime(value) -> str:
    """`{{ event.at|nhs_datetime }}` -> "2 December 2026 at 9:30am"."""
    return presenters.nhs_datetime(value)


@register.filter
def nhs_time(value) -> str:
    """`{{ poll.at|nhs_time }}` -> "9:30am"."""
    return presenters.nhs_time(value) if value else ""


@register.filter
def message_banner(message) -> presenters.Banner:
    return presenters.message_banner(getattr(message, "level_tag", ""))


@register.simple_tag(takes_context=True)
def primary_navigation(context) -> list[presenters.NavItem]:
    """`{% primary_navigation as items %}`: the header links the signed-in user may follow."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None:
        return []
    match = getattr(request, "resolver_match", None)
    return presenters.primary_navigation(user, match.namespace if match else None, match.url_name if match else None)


@register.simple_tag(takes_context=True)
def account_links(context) -> list[presenters.NavItem]:
    """`{% account_links as links %}`: the header's links about the person themselves ("Your settings")."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if user is None:
        return []
    match = getattr(request, "resolver_match", None)
    return presenters.account_links(user, match.view_name if match else None)


@register.simple_tag(takes_context=True)
def landing(context) -> presenters.NavItem | None:
    """`{% landing as home %}`: the signed-in user's home page (error pages link back to it)."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return presenters.landing(user) if user is not None else None


@register.filter
def with_class(attrs, css_class: str) -> SafeString:
    """Render django-tables2 attributes with `css_class` added in front of any classes already there, so a
    column's own classes (`orderable`, `asc`, a Meta `td` class) survive: `<th {{ attrs|with_class:"x" }}>`."""
    merged = AttributeDict(attrs or {})
    existing = merged.get("class")
    existing = existing() if callable(existing) else existing
    classes = [css_class, *str(existing or "").split()]
    merged["class"] = " ".join(dict.fromkeys(c for c in classes if c))
    return merged.as_html()


@register.filter
def elided_page_range(page: Page) -> list:
    """Page numbers for the NHS.UK numbered pagination: 1 … 4 5 6 … 20 (the ellipsis is Paginator.ELLIPSIS)."""
    if page is None:
        return []
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


@register.filter
def is_ellipsis(item) -> bool:
    return not isinstance(item, int)


@register.filter
def form_error_list(form) -> list[dict[str, str]]:
    """A form's errors as NHS.UK error summary items: form-wide errors first, then each field's first
    error linking to its input (`#id_<name>`), in the order the fields appear."""
    if form is None or not form.errors:
        return []
    items = [{"text": error, "href": ""} for error in form.non_field_errors()]
    for field in form:
        if field.errors:
            # Radios and checkboxes have no single input: link to the first one, as NHS.UK advises.
            target = field.id_for_label or (f"{field.auto_id}_0" if field.auto_id else "")
            items.append({"text": field.errors[0], "href": f"#{target}" if target else ""})
    return items


@register.simple_tag
def nhs_field(field, **params) -> SafeString:
    """`{% nhs_field form.note label_size="m" %}`: one form field as its NHS.UK component (label, hint, error
    message, input), using the template core.forms.NHSBoundField picks for the widget."""
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    # A field revealed by another's choice is drawn inside that radio's conditional container.
    if getattr(field, "revealed", False) and not params.pop("nested", False):
        return mark_safe("")
    return mark_safe(render_to_string(field.nhs_template, {"field": field, **params}))


@register.filter
def get_item(mapping, key):
    """`{{ hints|get_item:value }}`: a dictionary lookup with a variable key (None when absent)."""
    if not mapping:
        return None
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def thousands(value) -> str:
    """`{{ 100000|thousands }}` -> "100,000"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def minutes(value) -> int:
    """`{{ cooloff_timedelta|minutes }}`: a timedelta in whole minutes, rounded up."""
    try:
        return max(1, -(-int(value.total_seconds()) // 60))
    except AttributeError:
        return 0
