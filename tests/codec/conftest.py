"""Pytest fixtures for the GP Links codec tests (helpers live in codec_support.py)."""

from __future__ import annotations

import pytest

from registrations.gplinks import errors


@pytest.fixture
def no_safety_net(monkeypatch):
    """Let an unexpected exception surface as itself, so a bug cannot hide inside CodecError."""
    monkeypatch.setattr(errors, "SAFETY_NET", False)
