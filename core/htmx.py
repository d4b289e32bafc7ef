"""One URL, two renderings (style point 9): the whole page, or only its partial for an htmx request."""


def page_or_partial(request, template: str, partial: str, *, boosted_gets_page: bool = False) -> str:
    """The template name to render: `template#partial` for an htmx swap, the whole page otherwise.

    A history-restore request (the back button after htmx's cache missed) always needs the whole page;
    so does a boosted request when the page says so (`boosted_gets_page`), because hx-boost swaps the body.
    """
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request or (boosted_gets_page and htmx.boosted):
        return template
    return f"{template}#{partial}"
