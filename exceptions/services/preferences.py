"""A person's own working preferences (exceptions.models.WorkPreference): read with a default, written
only by the person, from the form where they choose it."""

from exceptions.models import WorkPreference


def next_after_resolving(user) -> bool:
    """Whether resolving a case takes this person straight to their next one."""
    if user is None or not user.is_authenticated:
        return False
    return WorkPreference.objects.filter(user=user, next_case_after_resolving=True).exists()


def set_next_after_resolving(user, on: bool) -> None:
    WorkPreference.objects.update_or_create(user=user, defaults={"next_case_after_resolving": on})
