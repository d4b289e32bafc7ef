"""The shape of the house, enforced: dependencies run exceptions -> registrations -> pds, and the
GP Links codec is pure Python (no Django, no services)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str):
    return [p for p in (REPO / package).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("pds", ("registrations", "exceptions")),
        ("registrations", ("exceptions",)),
    ],
)
def test_dependencies_run_one_way(package, forbidden):
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources(package)
        for module in imported_modules(path)
        if module.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_the_codec_is_pure_python():
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in sources("registrations/gplinks")
        for module in imported_modules(path)
        if module.split(".")[0] in {"django", "pds", "exceptions", "celery", "requests"}
        or module.startswith("registrations.")
        and not module.startswith("registrations.gplinks")
    ]
    assert offenders == []


def _status_writes(path: Path) -> list[str]:
    """Places that set a transaction's status themselves: `x.status = TxStatus.…` or `.update(status=TxStatus.…)`."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def is_tx_status(node) -> bool:
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "TxStatus"

    def is_transaction(node) -> bool:
        # `tx.status = …`, `case.transaction.status = …`
        return (isinstance(node, ast.Name) and node.id in ("tx", "transaction")) or (
            isinstance(node, ast.Attribute) and node.attr == "transaction"
        )

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            found += [
                f"{path.name}:{node.lineno}"
                for t in node.targets
                if getattr(t, "attr", None) == "status" and (is_tx_status(node.value) or is_transaction(t.value))
            ]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "update":
            found += [
                f"{path.name}:{node.lineno}" for k in node.keywords if k.arg == "status" and is_tx_status(k.value)
            ]
    return found


def test_only_the_state_module_moves_a_transaction():
    """One owner of transaction state: registrations.services.state.move (its table is in docs/)."""
    owner = REPO / "registrations" / "services" / "state.py"
    offenders = [
        place
        for package in ("registrations", "exceptions", "pds", "core")
        for path in sources(package)
        if path != owner
        for place in _status_writes(path)
    ]
    assert offenders == []


def test_the_state_table_declares_every_status():
    from registrations.models import TxStatus
    from registrations.services import state

    assert set(state.TRANSITIONS) == set(TxStatus.values)
    assert all(to in TxStatus.values for targets in state.TRANSITIONS.values() for to in targets)
