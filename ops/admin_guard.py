"""The admin's "add" forms take initial values from the query string (?practice=3). Django renders a value
that is not valid for its field by querying with it, which fails (a 500) for a foreign key given text.
Every ModelAdmin, ours and third parties', gets the same guard: such a value is dropped, not used."""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError


def _valid(model, name: str, value) -> bool:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return True  # not a model field: the form decides
    values = value if isinstance(value, list) else [value]
    try:
        for item in values:
            (field.target_field if field.is_relation and field.target_field else field).to_python(item)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


def install() -> None:
    original = admin.ModelAdmin.get_changeform_initial_data
    if getattr(original, "guarded", False):
        return

    def get_changeform_initial_data(self, request):
        initial = original(self, request)
        return {name: value for name, value in initial.items() if _valid(self.model, name, value)}

    get_changeform_initial_data.guarded = True
    admin.ModelAdmin.get_changeform_initial_data = get_changeform_initial_data
