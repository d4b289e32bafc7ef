"""The moved clock itself: PCRM_TEST_NOW really moves what the code under test reads as now."""

import datetime as dt
import time

import pytest
from django.utils import timezone
from support import moved_clock

pytestmark = pytest.mark.dates


def test_the_clock_is_where_pcrm_test_now_put_it():
    moved = moved_clock()
    if moved is not None:
        # Moved and ticking: a session takes minutes, not hours.
        assert dt.timedelta(0) <= timezone.now() - moved < dt.timedelta(hours=2)
    # Moved or not, every way of reading now agrees.
    assert abs(time.time() - timezone.now().timestamp()) < 5
    assert timezone.localdate() == timezone.localtime(timezone.now()).date()
