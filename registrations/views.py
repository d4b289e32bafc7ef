from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from .models import Interchange
from .tables import InterchangeTable


@require_GET
@vary_on_headers("HX-Request")
@permission_required("registrations.view_pipeline", raise_exception=True)
def interchange_list(request):
    qs = Interchange.objects.defer("raw").annotate(message_count=Count("messages"))
    table = InterchangeTable(qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    template = "registrations/interchange_list.html"
    # A history-restore request (back button after the cache missed) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        template += "#table"
    return render(request, template, {"table": table})
