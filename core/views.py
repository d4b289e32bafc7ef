"""Views every area shares."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST


@never_cache
@require_POST
def keep_alive(request):
    """ "Stay signed in" from the timeout warning: any signed-in request renews the session
    (SESSION_SAVE_EVERY_REQUEST), so this only has to answer. Signed out, the login middleware redirects."""
    request.session.modified = True
    return HttpResponse(status=204)
