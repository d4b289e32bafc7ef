"""A team leader's home (#16 items 1 and 8): the team's open work on one page, each figure a link into the
queue view that lists it. Reads come from exceptions.selectors.team; this view only renders them."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.roles import Perm
from exceptions.selectors import team


@require_GET
@permission_required(Perm.ASSIGN_CASE, raise_exception=True)
def team_home(request):
    now = timezone.now()
    return render(
        request,
        "exceptions/team.html",
        {"overview": team.overview(now), "now": now},
    )
