"""The exception kinds catalogue and the resolution services agree with each other."""

import inspect

from exceptions.actions import ACTIONS, INPUTS
from exceptions.kinds import CATALOGUE, info
from registrations.ports import CaseKind


def test_every_kind_has_a_code_words_an_sla_and_actions():
    assert set(CATALOGUE) == set(CaseKind)
    codes = [k.code for k in CATALOGUE.values()]
    assert len(set(codes)) == len(codes)
    for kind, entry in CATALOGUE.items():
        assert entry.label and len(entry.description) > 20, kind
        assert 1 <= entry.sla_working_days <= 10, kind
        assert "escalate" in entry.actions, kind
        assert set(entry.actions) <= set(ACTIONS), kind
    assert info("NO_TRACE").public_code == "DEMOG-0001"


def test_every_action_has_a_service_taking_its_inputs_and_a_reason_list():
    for name, action in ACTIONS.items():
        assert action.code == name
        params = inspect.signature(action.service).parameters
        assert {"by", "reason_code", "note"} <= set(params), name
        assert set(action.inputs) <= set(INPUTS) and set(action.inputs) <= set(params), name
        assert action.reasons, name
        assert action.outcome in ("RESOLVED", "REJECTED", "CLOSED", ""), name
        for code in action.texts or {}:
            assert code in action.reasons, (name, code)
