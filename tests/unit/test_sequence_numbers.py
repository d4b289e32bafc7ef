"""Sequence numbers round the 1..99,999,999 ring: gaps, wrap-around, re-seeding, bounded memory;
and text from outside made fit for PostgreSQL."""

import tracemalloc

import pytest

from registrations.models import Interchange
from registrations.safe_text import fit, pg_json, pg_text
from registrations.services.sequence import MAX_LISTED, MAX_SEQUENCE, Counter, distance


@pytest.fixture(autouse=True)
def window(settings):
    settings.SEQUENCE_WINDOW = 10_000


def seen(last: int, *numbers: int) -> Counter:
    counter = Counter(last)
    for n in numbers:
        counter.see(n)
    return counter


def test_the_next_number_is_no_gap_and_a_skipped_one_is():
    assert seen(5, 6).missing == [] and seen(5, 6).last == 6
    gap = seen(5, 8)
    assert (gap.missing, gap.missing_count, gap.last) == ([6, 7], 2, 8)


def test_wrap_around_at_99_999_999_is_the_next_number_not_a_jump():
    assert distance(MAX_SEQUENCE, 1) == 1
    wrapped = seen(MAX_SEQUENCE - 1, MAX_SEQUENCE, 1, 2)
    assert (wrapped.missing, wrapped.jumps, wrapped.last) == ([], [], 2)
    across = seen(MAX_SEQUENCE - 1, 2)
    assert across.missing == [MAX_SEQUENCE, 1] and across.last == 2


def test_late_arrivals_and_repeats_do_not_move_the_counter_back():
    late = seen(10, 8, 10)
    assert (late.missing, late.jumps, late.last) == ([], [], 10)
    after_wrap = seen(3, MAX_SEQUENCE - 2)  # sent just before the wrap, arriving after it
    assert (after_wrap.jumps, after_wrap.last) == ([], 3)


def test_a_reseeded_counter_is_one_jump_and_numbering_continues_from_it():
    reseeded = seen(5_000_000, 1, 2, 4)
    assert reseeded.jumps == [(5_000_000, 1)]
    assert (reseeded.missing, reseeded.last) == ([3], 4)


def test_a_bogus_number_costs_bounded_memory_and_never_becomes_the_base():
    tracemalloc.start()
    counter = seen(1, 90_000_000, 10**13, 2)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000, "no list of up to 10^8 numbers"
    assert counter.jumps == [(1, 90_000_000), (90_000_000, 10**13), (90_000_000, 2)]
    assert counter.last == 2


def test_a_large_gap_within_the_window_lists_a_bounded_number_and_counts_the_rest():
    gap = seen(1, 9_001)
    assert len(gap.missing) == MAX_LISTED and gap.missing[:2] == [2, 3] and gap.missing_count == 8_999


def test_sms_gaps_within_and_across_interchanges():
    counter = Counter(6)
    for sms in (7, 9):  # one interchange, message 8 missing inside it
        counter.see(sms)
    for sms in (12, 13):  # the next interchange, 10 and 11 missing between them
        counter.see(sms)
    assert counter.missing == [8, 10, 11] and counter.last == 13


def test_text_from_outside_fits_postgresql():
    assert pg_text("A\x00B") == "A\ufffdB"
    assert pg_text("X" * 70, 64) == "X" * 63 + "…"
    assert pg_json({"k\x00": ["v\x00", 1, {"n": None}]}) == {"k\ufffd": ["v\ufffd", 1, {"n": None}]}
    row = fit(Interchange, local_id="L" * 300, sender="\x00TES5", warnings=["a\x00"], sis=5)
    assert len(row["local_id"]) == 64 and row["sender"] == "\ufffdTES5" and row["warnings"] == ["a\ufffd"]
    assert row["sis"] == 5
