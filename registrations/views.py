from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_tables2 import RequestConfig

from core.htmx import page_or_partial
from core.roles import Perm

from .models import Interchange
from .tables import InterchangeTable


@require_GET
@vary_on_headers("HX-Request")
@permission_required(Perm.VIEW_PIPELINE, raise_exception=True)
def interchange_list(request):
    qs = Interchange.objects.defer("raw").annotate(message_count=Count("messages"))
    table = InterchangeTable(qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, page_or_partial(request, "registrations/interchange_list.html", "table"), {"table": table})
