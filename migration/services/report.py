"""What an import tells the person who ran it (and `--json` prints)."""

from dataclasses import dataclass, field

from ..extract import RowError


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    imported: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    reconciliation: dict[str, int] = field(default_factory=lambda: {"agree": 0, "differ": 0, "not_in_pds": 0})
    differences: list[dict] = field(default_factory=list)
    cases_opened: int = 0
    dry_run: bool = False
    refused: bool = False
    run_id: int | None = None

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": self.invalid,
            "imported": self.imported,
            "unchanged": self.unchanged,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
            "reconciliation": dict(self.reconciliation),
        }

    def counters_json(self) -> dict:
        out = self.as_json()
        del out["reconciliation"]
        return out
