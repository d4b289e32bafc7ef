"""The queue's services: take next, claim, release, assign and bulk moves, SLA states, working days, keyset pages."""

import datetime as dt
import random
import threading

import pytest
from django.db import connection
from django.utils import timezone
from factories import ExceptionCaseFactory, UserFactory
from support import working_days_between

from exceptions import sla
from exceptions.models import AuditEvent, CaseEvent, CaseStatus, ExceptionCase
from exceptions.selectors import cases
from exceptions.selectors.pagination import Order, paginate
from exceptions.services import queue

pytestmark = [pytest.mark.django_db, pytest.mark.dates]


@pytest.fixture
def agent():
    return UserFactory(username="agent1", first_name="Asha", last_name="Patel", roles=["NBO agent"])


@pytest.fixture
def leader():
    return UserFactory(username="leader1", first_name="Terry", last_name="Leader", roles=["Team leader"])


def test_take_next_gives_the_most_urgent_unassigned_case_and_records_it(agent, agent2, now):
    ExceptionCaseFactory(due_at=now + dt.timedelta(days=1), assigned_to=agent2, status="IN_PROGRESS")
    later = ExceptionCaseFactory(due_at=now + dt.timedelta(days=3))
    urgent = ExceptionCaseFactory(due_at=now + dt.timedelta(days=2))
    ExceptionCaseFactory(due_at=now - dt.timedelta(days=9), resolved=True)

    taken = queue.take_next(by=agent)

    assert taken.pk == urgent.pk
    urgent.refresh_from_db()
    assert urgent.assigned_to == agent
    assert urgent.status == CaseStatus.IN_PROGRESS
    event = CaseEvent.objects.get(case=urgent, action="claimed")
    assert event.user == agent
    assert event.detail == {"via": "take next"}
    audit = AuditEvent.objects.get(action="take_next")
    assert (audit.user, audit.role, audit.nhs_number, audit.object_id) == (
        agent,
        "NBO agent",
        urgent.nhs_number,
        str(urgent.pk),
    )
    assert queue.take_next(by=agent).pk == later.pk
    assert queue.take_next(by=agent) is None


def test_take_next_breaks_deadline_ties_by_age(now):
    agent = UserFactory(roles=["NBO agent"])
    due = now + dt.timedelta(days=2)
    newer = ExceptionCaseFactory(due_at=due)
    older = ExceptionCaseFactory(due_at=due)
    ExceptionCase.objects.filter(pk=older.pk).update(opened_at=now - dt.timedelta(days=1))
    assert queue.take_next(by=agent).pk == older.pk
    assert queue.take_next(by=agent).pk == newer.pk


def test_escalated_cases_go_to_team_leaders_not_agents(agent, leader, now):
    # Escalation (exceptions.services.resolution.escalate) leaves a case in progress with nobody holding it.
    escalated = ExceptionCaseFactory(status="IN_PROGRESS", due_at=now - dt.timedelta(days=1))
    fresh = ExceptionCaseFactory(due_at=now + dt.timedelta(days=1))
    assert queue.take_next(by=agent).pk == fresh.pk
    assert queue.take_next(by=agent) is None
    assert queue.take_next(by=leader).pk == escalated.pk


def test_people_who_cannot_work_cases_cannot_take_them():
    ExceptionCaseFactory()
    with pytest.raises(queue.NotAllowed):
        queue.take_next(by=UserFactory(roles=["PCSE viewer"]))
    assert not ExceptionCase.objects.filter(assigned_to__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_people_taking_next_at_once_never_get_the_same_case():
    agents = [UserFactory(username=f"racer{i}", roles=["NBO agent"]) for i in range(20)]
    cases = ExceptionCaseFactory.create_batch(12)
    barrier = threading.Barrier(len(agents))
    taken: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def race(user):
        try:
            barrier.wait()
            case = queue.take_next(by=user)
            taken[user.username] = case.pk if case else None
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(user,)) for user in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    got = [pk for pk in taken.values() if pk is not None]
    assert len(got) == len(set(got)) == len(cases)  # every case once, nobody shares one
    assert list(taken.values()).count(None) == len(agents) - len(cases)
    for case in ExceptionCase.objects.all():
        claims = CaseEvent.objects.filter(case=case, action="claimed")
        assert claims.count() == 1
        assert claims.get().user_id == case.assigned_to_id


def test_a_claimed_case_cannot_be_claimed_by_someone_else(agent, agent2):
    case = ExceptionCaseFactory()
    queue.claim(case.pk, by=agent)
    with pytest.raises(queue.AlreadyAssigned, match="already assigned to Asha Patel"):
        queue.claim(case.pk, by=agent2)
    case.refresh_from_db()
    assert case.assigned_to == agent
    # Claiming one's own case again changes nothing.
    queue.claim(case.pk, by=agent)
    assert CaseEvent.objects.filter(case=case, action="claimed").count() == 1


def test_a_closed_case_cannot_be_claimed(agent):
    case = ExceptionCaseFactory(resolved=True)
    with pytest.raises(queue.CaseClosed, match="already resolved"):
        queue.claim(case.pk, by=agent)


def test_only_the_holder_or_a_team_leader_can_release_a_case(agent, agent2, leader):
    case = ExceptionCaseFactory()
    queue.claim(case.pk, by=agent)
    with pytest.raises(queue.NotAllowed):
        queue.release(case.pk, by=agent2)
    queue.release(case.pk, by=leader)
    case.refresh_from_db()
    assert case.assigned_to is None
    assert case.status == CaseStatus.OPEN
    event = CaseEvent.objects.get(case=case, action="released")
    assert (event.user, event.detail) == (leader, {"from": "agent1"})
    assert AuditEvent.objects.filter(action="release_case", user=leader, role="Team leader").exists()


def test_team_leaders_assign_to_colleagues_and_agents_cannot(agent, agent2, leader):
    case = ExceptionCaseFactory()
    with pytest.raises(queue.NotAllowed):
        queue.assign(case.pk, to=agent2, by=agent)
    queue.assign(case.pk, to=agent, by=leader)
    queue.assign(case.pk, to=agent2, by=leader, note="Sam knows this practice")
    case.refresh_from_db()
    assert case.assigned_to == agent2
    events = list(CaseEvent.objects.filter(case=case, action="assigned").values_list("detail", "note"))
    assert events == [
        ({"to": "agent1", "from": None}, ""),
        ({"to": "agent2", "from": "agent1"}, "Sam knows this practice"),
    ]
    with pytest.raises(queue.NotAllowed, match="cannot work cases"):
        queue.assign(case.pk, to=UserFactory(roles=["PCSE viewer"]), by=leader)


def test_an_agent_assigning_to_themselves_is_a_claim(agent):
    case = ExceptionCaseFactory()
    queue.assign(case.pk, to=agent, by=agent)
    case.refresh_from_db()
    assert case.assigned_to == agent


def test_bulk_assign_reports_what_it_skipped(agent, agent2, leader):
    open_cases = ExceptionCaseFactory.create_batch(3)
    closed = ExceptionCaseFactory(resolved=True)
    result = queue.bulk_assign([c.pk for c in open_cases] + [closed.pk, 999_999], to=agent2, by=leader)
    assert result.done == sorted(c.pk for c in open_cases)
    assert [pk for pk, _ in result.skipped] == [closed.pk, 999_999]
    assert ExceptionCase.objects.filter(assigned_to=agent2).count() == 3
    with pytest.raises(queue.NotAllowed):
        queue.bulk_assign([open_cases[0].pk], to=agent, by=agent)


def test_bulk_release_releases_only_what_the_user_may(agent, agent2):
    mine = ExceptionCaseFactory(assigned_to=agent, status="IN_PROGRESS")
    theirs = ExceptionCaseFactory(assigned_to=agent2, status="IN_PROGRESS")
    result = queue.bulk_release([mine.pk, theirs.pk], by=agent)
    assert result.done == [mine.pk]
    assert result.skipped[0][0] == theirs.pk
    assert ExceptionCase.objects.get(pk=theirs.pk).assigned_to == agent2


def test_notes_are_case_events_and_audited(agent):
    case = ExceptionCaseFactory()
    queue.add_note(case.pk, by=agent, note="  Rang the practice; they will resend.  ")
    event = CaseEvent.objects.get(case=case, action="note")
    assert event.note == "Rang the practice; they will resend."
    assert AuditEvent.objects.filter(action="add_note", object_id=str(case.pk)).exists()
    with pytest.raises(queue.QueueError, match="Enter a note"):
        queue.add_note(case.pk, by=agent, note="   ")


def test_view_counts_count_each_view_in_one_query(agent, agent2, django_assert_num_queries):
    ExceptionCaseFactory.create_batch(2)
    ExceptionCaseFactory(assigned_to=agent, status="IN_PROGRESS")
    ExceptionCaseFactory(assigned_to=agent2, status="IN_PROGRESS")
    ExceptionCaseFactory(resolved=True)
    with django_assert_num_queries(1):
        counts = cases.view_counts(agent)
    assert counts == {"mine": 1, "unassigned": 2, "team": 2, "escalated": 0, "all": 4}


def test_sla_states_turn_at_now_and_at_the_end_of_the_next_working_day():
    # Friday 15 May 2026, 10:00 in London: the next working day is Monday 18 May.
    now = timezone.make_aware(dt.datetime(2026, 5, 15, 10, 0))
    cutoffs = sla.sla_cutoffs(now)
    assert timezone.localtime(cutoffs[1]) == timezone.make_aware(dt.datetime(2026, 5, 19, 0, 0))
    assert sla.sla_state(now - dt.timedelta(minutes=1), cutoffs) == sla.OVERDUE
    assert sla.sla_state(now + dt.timedelta(hours=7), cutoffs) == sla.DUE_SOON
    assert sla.sla_state(timezone.make_aware(dt.datetime(2026, 5, 18, 17, 0)), cutoffs) == sla.DUE_SOON
    assert sla.sla_state(timezone.make_aware(dt.datetime(2026, 5, 19, 17, 0)), cutoffs) == sla.ON_TIME


def test_sla_filters_match_the_states(agent, now):
    cutoffs = sla.sla_cutoffs()
    overdue = ExceptionCaseFactory(due_at=now - dt.timedelta(hours=1))
    soon = ExceptionCaseFactory(due_at=cutoffs[1] - dt.timedelta(minutes=1))
    later = ExceptionCaseFactory(due_at=cutoffs[1] + dt.timedelta(days=2))
    qs = ExceptionCase.objects.all()
    assert list(sla.filter_sla(qs, sla.OVERDUE, cutoffs)) == [overdue]
    assert list(sla.filter_sla(qs, sla.DUE_SOON, cutoffs)) == [soon]
    assert list(sla.filter_sla(qs, sla.ON_TIME, cutoffs)) == [later]


def test_working_days_since_agrees_with_the_day_by_day_count():
    rng = random.Random(7)
    start = dt.date(2024, 1, 1)
    for _ in range(400):
        a = start + dt.timedelta(days=rng.randrange(0, 900))
        b = a + dt.timedelta(days=rng.randrange(-3, 400))
        assert sla.working_days_since(a, b) == working_days_between(a, b), (a, b)
    # Christmas 2025: Thursday 25 and Friday 26 December are bank holidays.
    assert sla.working_days_since(dt.date(2025, 12, 24), dt.date(2025, 12, 29)) == 1


def test_keyset_pages_walk_forwards_and_back_in_a_total_order(now):
    due = now + dt.timedelta(days=3)
    cases = [ExceptionCaseFactory(due_at=due + dt.timedelta(hours=i % 3)) for i in range(12)]
    expected = sorted(cases, key=lambda c: (c.due_at, c.pk))
    order = Order(("due_at", "id"))
    qs = ExceptionCase.objects.all()

    first = paginate(qs, order, per_page=5)
    assert first.rows == expected[:5] and first.is_first and not first.has_previous
    second = paginate(qs, order, after=first.next_cursor, per_page=5)
    assert second.rows == expected[5:10] and not second.is_first
    third = paginate(qs, order, after=second.next_cursor, per_page=5)
    assert third.rows == expected[10:] and not third.has_next
    back = paginate(qs, order, before=third.previous_cursor, per_page=5)
    assert back.rows == expected[5:10]
    # A "previous" that would be a short page is the first page, whole.
    assert (
        paginate(
            qs,
            order,
            before=paginate(qs, order, after=encode_after(expected[1]), per_page=5).previous_cursor,
            per_page=5,
        ).rows
        == expected[:5]
    )

    descending = Order(("due_at", "id"), descending=True)
    page = paginate(qs, descending, per_page=5)
    assert page.rows == expected[::-1][:5]
    assert paginate(qs, descending, after=page.next_cursor, per_page=5).rows == expected[::-1][5:10]


def encode_after(case):
    from exceptions.selectors.pagination import encode_cursor

    return encode_cursor([case.due_at, case.pk])


@pytest.mark.parametrize("cursor", ["not-base64!", "W10", "WyJ4IiwgMV0", "bnVsbA"])
def test_a_damaged_cursor_shows_the_first_page(cursor):
    cases = ExceptionCaseFactory.create_batch(3)
    page = paginate(ExceptionCase.objects.all(), Order(("due_at", "id")), after=cursor, per_page=2)
    assert page.is_first
    assert len(page.rows) == 2
    assert {c.pk for c in page.rows} <= {c.pk for c in cases}


def test_bounded_count_stops_counting_at_the_limit():
    ExceptionCaseFactory.create_batch(5)
    qs = ExceptionCase.objects.all()
    assert cases.bounded_count(qs, limit=10) == (5, False)
    assert cases.bounded_count(qs, limit=3) == (3, True)


def test_selects_are_rendered_in_python_with_the_nhs_classes_and_the_choice_kept():
    from django import forms

    from core.forms import NHSForm, NHSSelect

    class Form(NHSForm):
        colour = forms.ChoiceField(choices=[("", "Any"), ("r", "Red & pink"), ("g", "Green")], required=False)

    form = Form({"colour": "r"})
    assert type(form.fields["colour"].widget) is NHSSelect
    html = str(form["colour"])
    assert html == (
        '<select name="colour" class="nhsuk-select" id="id_colour">'
        '<option value="">Any</option><option value="r" selected>Red &amp; pink</option>'
        '<option value="g">Green</option></select>'
    )
