"""Closing a quarter: once only, an F8 to every linked practice, and the F8 on the wire."""

import datetime as dt

import pytest
from capitation_population import CLOSING_DAY, Q
from django.utils import timezone
from factories import HealthAuthorityFactory, LinkFactory, PracticeFactory

from registrations.capitation import close, quarters
from registrations.gplinks import parse_interchange
from registrations.models import Interchange, OutboxItem, QuarterClose
from registrations.services import outbox
from registrations.services.outbound import outbound

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "end", "previous", "last_ended"),
    [
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31), dt.date(2025, 12, 31), dt.date(2025, 12, 31)),
        (dt.date(2026, 3, 31), dt.date(2026, 3, 31), dt.date(2025, 12, 31), dt.date(2025, 12, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30), dt.date(2026, 3, 31), dt.date(2026, 3, 31)),
        (dt.date(2026, 8, 15), dt.date(2026, 9, 30), dt.date(2026, 6, 30), dt.date(2026, 6, 30)),
        (dt.date(2026, 12, 31), dt.date(2026, 12, 31), dt.date(2026, 9, 30), dt.date(2026, 9, 30)),
    ],
)
def test_quarter_dates(day, end, previous, last_ended):
    assert quarters.quarter_end_of(day) == end
    assert quarters.previous_quarter_end(end) == previous
    assert quarters.last_ended_quarter(day) == last_ended
    assert quarters.is_quarter_end(end) and not quarters.is_quarter_end(end - dt.timedelta(days=1))
    assert quarters.label(dt.date(2026, 3, 31)) == "quarter ending 31 March 2026"


def test_closing_twice_queues_one_f8_per_linked_practice_once(world):
    not_migrated = HealthAuthorityFactory(cipher="BK", migrated=False)
    LinkFactory(practice=PracticeFactory(ha=not_migrated))
    inactive = LinkFactory(practice=PracticeFactory(ha=world.practices["A"].ha))
    inactive.active = False
    inactive.save()

    first = close.close_quarter(quarter_end=Q, by="admin", today=CLOSING_DAY)
    second = close.close_quarter(quarter_end=Q, by="scheduler", today=CLOSING_DAY)

    assert first.created and not second.created
    assert second.quarter.pk == first.quarter.pk
    assert QuarterClose.objects.get().closed_by == "admin"
    f8s = OutboxItem.objects.filter(tx_type="F8")
    # The four linked practices in the migrated HA; not the NHAIS HA's practice, not the inactive link.
    assert sorted(f8s.values_list("link__practice__ods_code", flat=True)) == ["A00001", "B00002", "C00003", "D00004"]
    assert {tuple(item.payload.items()) for item in f8s} == {(("quarter_end", "2026-03-31"),)}
    assert first.quarter.f8_count == 4


def test_an_ha_cut_over_after_closing_day_is_left_to_nhais(world):
    ha = world.practices["A"].ha
    ha.cutover_date = CLOSING_DAY + dt.timedelta(days=1)
    ha.save()
    assert close.close_quarter(quarter_end=Q, by="admin", today=CLOSING_DAY).quarter.f8_count == 0


@pytest.mark.parametrize(
    ("quarter_end", "message"),
    [(dt.date(2026, 3, 30), "not the last day of a quarter"), (dt.date(2026, 6, 30), "has not ended yet")],
)
def test_only_a_quarter_that_is_over_can_be_closed(db, quarter_end, message):
    with pytest.raises(close.QuarterNotClosable, match=message):
        close.close_quarter(quarter_end=quarter_end, by="admin", today=CLOSING_DAY)
    with pytest.raises(close.QuarterNotClosable):
        close.close_quarter(quarter_end=Q, by="admin", today=Q)  # the last day itself is not over
    assert not QuarterClose.objects.exists()


def test_the_relay_sends_the_f8_with_the_quarter_end_in_dtm_206_and_no_s01(world):
    close.close_quarter(quarter_end=Q, by="admin", today=CLOSING_DAY)
    built = outbox.build_pending(now=timezone.now())
    assert len(built) == 4
    ic = Interchange.objects.get(pk=built[0])
    raw = bytes(ic.raw).decode()
    assert "DTM+206:20260331:102'" in raw
    assert "RFF+950:F8'" in raw and "GIS+Q:ZZZ'" in raw
    assert "S01" not in raw and "NAD+GP" not in raw
    parsed = parse_interchange(bytes(ic.raw))
    [message] = parsed.messages
    assert (message.type, message.quarter_end, message.ha_cipher) == ("F8", Q, "XX1")
    [tx] = message.transactions
    assert tx.tn == OutboxItem.objects.get(interchange=ic).tn


def test_f8s_for_two_quarters_to_one_practice_go_in_separate_messages(world):
    link = world.links[0]
    outbox.queue_transaction(link=link, send=outbound("F8", quarter_end=dt.date(2025, 12, 31)))
    outbox.queue_transaction(link=link, send=outbound("F8", quarter_end=dt.date(2026, 3, 31)))
    [pk] = outbox.build_pending(now=timezone.now())
    messages = parse_interchange(bytes(Interchange.objects.get(pk=pk).raw)).messages
    assert [m.quarter_end for m in messages] == [dt.date(2025, 12, 31), Q]


def test_the_scheduler_closes_a_quarter_once_its_grace_period_is_over():
    # Ten working days after 31 March 2026, Good Friday and Easter Monday skipped: 16 April.
    assert close.grace_end(Q) == dt.date(2026, 4, 16)
    assert close.quarter_due_for_closing(dt.date(2026, 4, 1), within_days=10) is None, "just ended: grace"
    assert close.quarter_due_for_closing(dt.date(2026, 4, 16), within_days=10) is None, "last day of grace"
    assert close.quarter_due_for_closing(dt.date(2026, 4, 17), within_days=10) == Q
    assert close.quarter_due_for_closing(dt.date(2026, 4, 26), within_days=10) == Q
    assert close.quarter_due_for_closing(dt.date(2026, 4, 27), within_days=10) is None, "too long ago"
    # 30 June 2026 is a Tuesday: grace to 14 July.
    assert close.quarter_due_for_closing(dt.date(2026, 7, 15), within_days=10) == dt.date(2026, 6, 30)


def test_the_grace_period_is_a_setting(settings):
    settings.CAPITATION_GRACE_WORKING_DAYS = 0
    assert close.quarter_due_for_closing(dt.date(2026, 4, 1), within_days=10) == Q


def test_a_quarter_in_its_grace_period_cannot_be_closed_by_hand(world):
    with pytest.raises(close.QuarterNotClosable, match="grace period until 16 April 2026"):
        close.close_quarter(quarter_end=Q, by="admin", today=dt.date(2026, 4, 16))
    assert not QuarterClose.objects.exists() and not OutboxItem.objects.filter(tx_type="F8").exists()
