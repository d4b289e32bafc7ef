from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from .models import ExceptionCase
from .tables import CaseTable


@require_GET
def home(request):
    return redirect("exceptions:case-list")


@require_GET
@vary_on_headers("HX-Request")
@permission_required("exceptions.view_queue", raise_exception=True)
def case_list(request):
    table = CaseTable(ExceptionCase.objects.open().select_related("assigned_to"))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    template = "exceptions/case_list.html"
    # A history-restore request (back button after the cache missed) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#table"
    return render(request, template, {"table": table})
