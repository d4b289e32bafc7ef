"""Fixtures of the capitation tests (the helpers live in capitation_population.py)."""

import pytest
from capitation_population import build_world


@pytest.fixture
def world(db):
    """The hand-checked population (capitation_population.py). test_capitation_worker overrides it for
    a transactional database (a real worker reads what the test wrote)."""
    return build_world()
