"""Filters for the per-practice table: a practice code or name, and the HA."""

import django_filters
from django.db.models import Q

from ..models import CapitationLine


class PracticeLineFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Practice code or name")
    ha = django_filters.ChoiceFilter(field_name="ha_cipher", label="HA", empty_label="All HAs")

    class Meta:
        model = CapitationLine
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # order_by(): the lines' default ordering would otherwise join DISTINCT and list an HA once per line.
        ciphers = self.queryset.exclude(ha_cipher="").order_by().values_list("ha_cipher", flat=True).distinct()
        self.filters["ha"].extra["choices"] = [(c, c) for c in sorted(ciphers)]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(practice_ods__istartswith=value) | Q(practice_name__icontains=value))
