"""A person's own working preferences (exceptions.models.WorkPreference): read with a default, written
only by the person, from the action form (next case) or their settings page (both)."""

from exceptions.models import WorkPreference
from exceptions.selectors import cases


def next_after_resolving(user) -> bool:
    """Whether resolving a case takes this person straight to their next one."""
    if user is None or not user.is_authenticated:
        return False
    return WorkPreference.objects.filter(user=user, next_case_after_resolving=True).exists()


def set_next_after_resolving(user, on: bool) -> None:
    WorkPreference.objects.update_or_create(user=user, defaults={"next_case_after_resolving": on})


def default_queue_view(user) -> str:
    """The queue view the Work queue opens on for this person: their choice while their role still has
    that view (a leader's Escalated view is gone if they become an agent), else the queue's default."""
    chosen = WorkPreference.objects.filter(user=user).values_list("default_queue_view", flat=True).first()
    return chosen if chosen in cases.views_for(user) else cases.DEFAULT_VIEW


def save(user, *, next_after_resolving: bool, default_queue_view: str) -> None:
    """Both preferences at once, from the settings page (the form has checked the view is one of theirs)."""
    WorkPreference.objects.update_or_create(
        user=user,
        defaults={"next_case_after_resolving": next_after_resolving, "default_queue_view": default_queue_view},
    )
