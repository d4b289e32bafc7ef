from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from .models import Interchange
from .tables import InterchangeTable


@require_GET
@permission_required("registrations.view_pipeline", raise_exception=True)
def interchange_list(request):
    qs = Interchange.objects.defer("raw").annotate(message_count=Count("messages"))
    table = InterchangeTable(qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    template = "registrations/interchange_list.html"
    if request.htmx:
        template += "#table"
    return render(request, template, {"table": table})
