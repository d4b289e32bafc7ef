"""The work queue pages: the queue itself (one URL, two renderings), take next, and bulk moves.

Views are thin: they read the request, call exceptions.selectors.cases and exceptions.services.queue
(or the filters and tables that wrap them) and render. Every view needs `exceptions.view_queue`;
moves are checked again by the services.
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.htmx import page_or_partial
from core.presenters import landing
from core.roles import Perm
from exceptions.filters import CaseFilter
from exceptions.forms import BulkActionForm, SaveFilterForm
from exceptions.selectors import cases, team
from exceptions.selectors.pagination import Order, paginate
from exceptions.services import audit, preferences, queue
from exceptions.tables import DEFAULT_SORT, SORTS, CaseTable

PER_PAGE = 25
QUEUE_URL_KEY = "pcrm_queue_url"


@require_GET
def home(request):
    """Each role lands where its work is: the queue for the back office, capitation for PCSE; a role
    that opens no area gets a page saying so (200, not a 403 on a page they never asked for)."""
    home_page = landing(request.user)
    if home_page is None:
        return render(request, "no_area.html")
    return redirect(home_page.href)


def queue_url(request) -> str:
    """Where "Back to the queue" goes: the queue page the user last saw, with its view, filters and page."""
    return request.session.get(QUEUE_URL_KEY) or reverse("exceptions:case-list")


def _filterset(request, params: QueryDict, view: str) -> CaseFilter:
    """The queue's filters over the cases of `view`; a search looks through every case, in every view."""
    base = cases.queue_rows()
    if not (params.get("q") or "").strip():
        base = cases.for_view(base, view, request.user)
    return CaseFilter(params, queryset=cases.with_names(base), request=request)


def _audit_search(user, filterset: CaseFilter, view: str) -> None:
    search = filterset.form.cleaned_data.get("q")
    if search is None:
        return
    if search.nhs_number:
        audit.record(user, audit.SEARCH_QUEUE, nhs_number=search.nhs_number, detail={"view": view})
    else:
        name = " ".join(filter(None, (search.forename, search.surname)))
        audit.record(user, audit.SEARCH_QUEUE, detail={"view": view, "name": name})


def _queue_context(request, params: QueryDict, bulk_form: BulkActionForm | None = None) -> dict:
    user = request.user
    views = cases.views_for(user)
    view = params.get("view") if params.get("view") in views else preferences.default_queue_view(user)
    counts = cases.view_counts(user)
    filterset = _filterset(request, params, view)
    valid = filterset.is_valid()
    qs = filterset.qs if valid else filterset.queryset.none()

    sort = params.get("sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        sort = DEFAULT_SORT
    order = Order(SORTS[sort.lstrip("-")], descending=sort.startswith("-"))
    page = paginate(qs, order, after=params.get("after"), before=params.get("before"), per_page=PER_PAGE)

    searching = valid and filterset.form.cleaned_data.get("q") is not None
    if not valid:
        total, more = 0, False
    elif filterset.narrowed:
        total, more = cases.bounded_count(qs)
    else:
        total, more = counts[view], False

    now = timezone.now()
    can_bulk = user.has_perm(cases.WORK)
    table = CaseTable(page.rows, order_by=sort, now=now, selectable=can_bulk)
    if valid:
        _audit_search(user, filterset, view)
    query = params.urlencode()
    return {
        "current_url": reverse("exceptions:case-list") + (f"?{query}" if query else ""),
        "query": query,
        "view": view,
        "views": [
            {
                "text": cases.VIEW_LABELS[v],
                "count": counts[v],
                "href": f"?view={v}",
                "current": v == view and not searching,
                "id": f"view-{v}",
            }
            for v in views
        ],
        "searching": searching,
        "filter": filterset,
        "filter_errors": filterset.form.errors if not valid else None,
        "table": table,
        "page": page,
        "total": total,
        "more": more,
        "sort": sort,
        "bulk_form": bulk_form or BulkActionForm(user=user),
        "can_work": can_bulk,
        "can_assign": user.has_perm(cases.ASSIGN),
        "saved_filters": cases.saved_filters(user),
        "save_filter_form": SaveFilterForm(),
    }


@require_GET
@vary_on_headers("HX-Request")
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def case_list(request):
    context = _queue_context(request, request.GET)
    request.session[QUEUE_URL_KEY] = request.get_full_path()
    # A boosted form (the filters without JavaScript's help) needs the whole page too.
    return render(
        request, page_or_partial(request, "exceptions/case_list.html", "queue", boosted_gets_page=True), context
    )


def _describe_filters(filterset: CaseFilter) -> str:
    """The filters in words, for "no cases like this are left": "Kind: No trace, Practice: A81001"."""
    parts = []
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, "") or name in ("status", "q"):
            continue
        field = filterset.form.fields[name]
        shown = dict(getattr(field, "choices", ())).get(value, value) if hasattr(field, "choices") else value
        parts.append(f"{field.label}: {shown}")
    return ", ".join(parts)


@require_POST
@permission_required(Perm.RESOLVE_CASE, raise_exception=True)
def take_next(request):
    """The most urgent unassigned case within the queue's current filters (the page the button was on,
    or for a case page's button the queue page last seen)."""
    queue_page = request.POST.get("queue") or queue_url(request)
    params = QueryDict(urlsplit(_safe_next(request, queue_page)).query)
    filterset = CaseFilter(params, queryset=cases.all_cases(), request=request)
    narrowed = filterset.is_valid() and bool(_describe_filters(filterset))
    try:
        case = queue.take_next(by=request.user, among=filterset.qs if narrowed else None)
    except queue.QueueError as exc:
        messages.error(request, str(exc))
        return redirect(queue_url(request))
    if case is None:
        if narrowed:
            messages.info(
                request,
                f"There are no unassigned cases like this left ({_describe_filters(filterset)}). "
                "Clear the filters to take the next case of any kind.",
            )
        else:
            messages.info(request, "There are no unassigned cases to take.")
        return redirect(queue_url(request))
    return redirect("exceptions:case-detail", pk=case.pk)


@require_POST
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def save_filter(request):
    """Save the queue page's filters under a name the person chooses; then back to that page."""
    next_url = _safe_next(request, request.POST.get("next"))
    form = SaveFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["name"][0])
        return redirect(next_url)
    query = urlsplit(next_url).query
    queue.save_filter(by=request.user, name=form.cleaned_data["name"], query=query)
    messages.success(request, f"Saved your filters as “{form.cleaned_data['name']}”.")
    return redirect(next_url)


@require_POST
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def delete_filter(request, pk: int):
    queue.delete_filter(by=request.user, pk=pk)
    messages.success(request, "Removed the saved filter.")
    return redirect(_safe_next(request, request.POST.get("next")))


@require_GET
@permission_required(Perm.ASSIGN_CASE, raise_exception=True)
def workload(request):
    """Team leaders: open cases per person (held, overdue, due soon), each linking to that person's queue."""
    counts = cases.view_counts(request.user)
    return render(
        request,
        "exceptions/workload.html",
        {
            "people": team.people(timezone.now()),
            "escalated": counts[cases.ESCALATED],
            "unassigned": counts[cases.UNASSIGNED],
        },
    )


def _safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}):
        return value
    return reverse("exceptions:case-list")


def _describe(result: queue.BulkResult, verb: str) -> tuple[str, str]:
    n = len(result.done)
    done = f"{verb} {n} case{'s' if n != 1 else ''}."
    skipped = " ".join(why if f"Case {pk} " in why else f"Case {pk}: {why}" for pk, why in result.skipped)
    return done, skipped


@require_POST
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def bulk(request):
    """Claim, assign, release or reprocess the ticked cases; then back to the same queue page."""
    next_url = _safe_next(request, request.POST.get("next"))
    form = BulkActionForm(request.POST, user=request.user)
    if not form.is_valid():
        # Show the same queue page again, with the error summary: rebuild it from the page's own URL.
        params = QueryDict(urlsplit(next_url).query)
        # The page's links are built from the request (sort, page, filters): make it the queue's.
        request.GET, request.path = params, reverse("exceptions:case-list")
        context = _queue_context(request, params, bulk_form=form)
        return render(request, "exceptions/case_list.html", context, status=400)

    ids, action, user = form.cleaned_data["case"], form.cleaned_data["action"], request.user
    try:
        if action == BulkActionForm.CLAIM:
            result, verb = queue.bulk_claim(ids, by=user), "Claimed"
        elif action == BulkActionForm.ASSIGN:
            to = form.cleaned_data["assignee"]
            result = queue.bulk_assign(ids, to=to, by=user)
            verb = f"Assigned to {to.get_full_name() or to.get_username()}:"
        elif action == BulkActionForm.RELEASE:
            result, verb = queue.bulk_release(ids, by=user), "Released"
        else:
            result = queue.bulk_reprocess(ids, by=user, reason_code=form.cleaned_data["reason_code"])
            verb = "Reprocessed"
    except queue.QueueError as exc:
        messages.error(request, str(exc))
        return redirect(next_url)
    done, skipped = _describe(result, verb)
    if result.done:
        messages.success(request, done)
    if skipped:
        messages.warning(request, f"Not changed — {skipped}")
    return redirect(next_url)
