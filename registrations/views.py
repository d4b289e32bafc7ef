from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from core.htmx import page_or_partial
from core.roles import Perm
from pds import audit

from . import interchange_selectors as selectors
from .filters import InterchangeFilter
from .tables import InterchangeTable

VIEW_INTERCHANGE = "view_interchange"
SEARCH_INTERCHANGES = "search_interchanges"


@require_GET
@vary_on_headers("HX-Request")
@permission_required(Perm.VIEW_PIPELINE, raise_exception=True)
def interchange_list(request):
    found = InterchangeFilter(request.GET, queryset=selectors.interchanges_for_list())
    valid = found.is_valid()
    table = InterchangeTable(found.qs if valid else found.queryset.none())
    searched_for = found.form.cleaned_data.get("nhs_number") if valid else ""
    if searched_for:
        # Which interchanges carry a patient's transactions is about that patient: recorded like any search.
        audit.record(action=SEARCH_INTERCHANGES, user=request.user, nhs_number=searched_for, object_type="interchange")
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    context = {"table": table, "filter": found, "filter_errors": not valid}
    return render(request, page_or_partial(request, "registrations/interchange_list.html", "table"), context)


@require_GET
@permission_required(Perm.VIEW_PIPELINE, raise_exception=True)
def interchange_detail(request, pk: int):
    ic = get_object_or_404(selectors.interchanges_for_page(), pk=pk)
    detail = selectors.interchange_detail(ic, user=request.user)
    # Every patient whose details the page shows is a view of patient data, audited like any other.
    for number in detail.nhs_numbers_shown:
        audit.record(
            action=VIEW_INTERCHANGE, user=request.user, nhs_number=number, object_type="interchange", object_id=str(pk)
        )
    return render(request, "registrations/interchange_detail.html", {"detail": detail, "ic": ic})
