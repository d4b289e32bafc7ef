"""#16 item 14: the capitation report's HA filter lists each HA once; the practice chart has a table beside it."""

import pytest
from capitation_population import CLOSING_DAY, Q, build_world
from django.urls import reverse
from factories import UserFactory
from pytest_django.asserts import assertContains

from registrations.capitation import close, snapshot

pytestmark = [pytest.mark.django_db, pytest.mark.dates]


def test_the_capitation_ha_filter_lists_each_ha_once_and_the_chart_has_its_table(client):
    build_world()
    quarter = close.close_quarter(quarter_end=Q, by="ada.admin", today=CLOSING_DAY).quarter
    snapshot.take_snapshot(quarter.pk, today=CLOSING_DAY)
    client.force_login(UserFactory(roles=["PCSE viewer"]))
    response = client.get(reverse("registrations:capitation:report", args=[Q]))
    choices = [value for value, _ in response.context["filterset"].form.fields["ha"].choices]
    assert len(choices) == len(set(choices))
    assert choices.count("XX1") == 1
    assertContains(response, 'id="practice-chart-table"')
    rows = response.context["chart_data"]["practices"]["rows"]
    assert rows and all(row["patients"] for row in rows)
