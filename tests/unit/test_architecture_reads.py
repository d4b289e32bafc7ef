"""Reads in selectors (#11 item 5): a view module never reaches the ORM's managers (`Model.objects`)
itself; it asks a selector of its app for the rows, and may then narrow, order or page the queryset it
is given."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APPS = ("core", "accounts", "pds", "registrations", "exceptions", "migration", "ops")


def view_modules() -> list[Path]:
    found = []
    for app in APPS:
        for path in (REPO / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if path.name in ("views.py", "api.py") or "views" in path.relative_to(REPO).parts[:-1]:
                found.append(path)
    return sorted(found)


def manager_reads(path: Path) -> list[int]:
    """Lines on which the module names a model's `objects` manager."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "objects"]


def test_the_scan_finds_the_view_modules():
    names = {str(p.relative_to(REPO)) for p in view_modules()}
    assert {"pds/views.py", "pds/api.py", "registrations/views.py", "registrations/capitation/views.py"} <= names
    assert {
        "migration/views.py",
        "exceptions/views/audit.py",
        "exceptions/views/case.py",
        "exceptions/views/queue.py",
    } <= names


def test_views_read_through_selectors():
    found = {str(p.relative_to(REPO)): manager_reads(p) for p in view_modules()}
    assert {name: lines for name, lines in found.items() if lines} == {}
