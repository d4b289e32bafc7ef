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
