"""Every page of the back office on the demo world's real cases: the demo backlog (`seed_demo`) through
MESH and the processing rules raises a case of (almost) every kind, each with the evidence and rule
trace production writes. Each case page, and each action form its kind offers, must render for the
person holding it."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from support import drain

from exceptions import actions
from exceptions.models import ExceptionCase
from exceptions.services import queue

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_every_demo_case_and_its_actions_render(mesh, client):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", patients=600)
    drain()
    cases = list(ExceptionCase.objects.order_by("id"))
    assert len({c.kind for c in cases}) >= 15
    leader = get_user_model().objects.get(username="leader")
    client.force_login(leader)

    for page in ("exceptions:case-list", "exceptions:dashboard", "exceptions:audit"):
        assert client.get(reverse(page)).status_code == 200, page
    assert client.get(reverse("exceptions:case-list"), {"view": "all", "status": "any"}).status_code == 200

    for case in cases:
        if case.assigned_to_id is None and case.status in ("OPEN", "IN_PROGRESS"):
            queue.claim(case.pk, by=leader)
        response = client.get(reverse("exceptions:case-detail", args=[case.pk]))
        assert response.status_code == 200, (case.kind, case.pk)
        case.refresh_from_db()
        for action in actions.available(case):
            form = client.get(reverse("exceptions:case-action", args=[case.pk, action]))
            assert form.status_code == 200, (case.kind, action)
