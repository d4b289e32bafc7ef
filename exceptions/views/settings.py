"""Your settings (#16 item 9, ux-home): a person's own working preferences, saved through
exceptions.services.preferences. Only ever the signed-in person's own."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.roles import Perm
from exceptions.forms import WorkPreferencesForm
from exceptions.services import preferences


@require_http_methods(["GET", "POST"])
@permission_required(Perm.VIEW_QUEUE, raise_exception=True)
def work_settings(request):
    user = request.user
    initial = {
        "next_case": WorkPreferencesForm.NEXT if preferences.next_after_resolving(user) else WorkPreferencesForm.STAY,
        "default_view": preferences.default_queue_view(user),
    }
    form = WorkPreferencesForm(request.POST if request.method == "POST" else None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        preferences.save(
            user,
            next_after_resolving=form.next_after_resolving,
            default_queue_view=form.cleaned_data["default_view"],
        )
        messages.success(request, "Your settings are saved.")
        return redirect("exceptions:settings")
    status = 400 if form.errors else 200
    return render(request, "exceptions/settings.html", {"form": form}, status=status)
