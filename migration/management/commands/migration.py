"""`python manage.py migration <subcommand>`: bring an HA across from NHAIS (docs/migration.md).

    migration import FILE --ha CIPHER [--dry-run] [--json] [--skip-invalid] [--open-cases]
    migration counters FILE --ha CIPHER [--dry-run] [--json] [--skip-invalid]
    migration shadow --ha CIPHER --inbound DIR --nhais-outbound DIR [--json]
    migration plan --ha CIPHER --date YYYY-MM-DD        (or --clear)

`import` and `counters` exit with status 1 when any row is invalid (0 otherwise); `--json` prints one
object and nothing else. Errors name the row (the header is row 1) and the field, never the value.
"""

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registrations.models import HealthAuthority

from ...services import counters, cutover, imports, shadow
from ...services.report import ImportReport


class Command(BaseCommand):
    help = "Regional migration from NHAIS: import an HA's extract and counters, shadow-run, plan the cut-over."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, text in (("import", "import a registration extract (CSV)"), ("counters", "import link counters")):
            p = sub.add_parser(name, help=text)
            p.add_argument("file", type=Path)
            self._common(p)
            p.add_argument("--dry-run", action="store_true", help="report what would change; change nothing")
            p.add_argument("--skip-invalid", action="store_true", help="import the valid rows; keep the others aside")
            if name == "import":
                p.add_argument("--open-cases", action="store_true", help="open a case for each PDS difference")
        p = sub.add_parser("shadow", help="decide NHAIS's traffic without effect and compare with its answers")
        self._common(p)
        p.add_argument("--inbound", type=Path, required=True, help="GP->HA interchanges NHAIS received")
        p.add_argument("--nhais-outbound", type=Path, required=True, help="HA->GP interchanges NHAIS sent")
        p = sub.add_parser("plan", help="set (or clear) the planned cut-over date")
        p.add_argument("--ha", required=True)
        p.add_argument("--by", default="")
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--date", type=dt.date.fromisoformat)
        group.add_argument("--clear", action="store_true")

    @staticmethod
    def _common(p):
        p.add_argument("--ha", required=True, help="the HA cipher, e.g. BE")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--by", default="", help="who is running it (for the audit log; default: the OS user)")

    def handle(self, *args, subcommand, **options):
        ha = HealthAuthority.objects.filter(cipher=options["ha"].upper()).first()
        if ha is None:
            raise CommandError(f"No HA with cipher {options['ha']!r}.")
        by = options.get("by") or getpass.getuser()
        if subcommand == "plan":
            cutover.plan(ha, None if options["clear"] else options["date"], by=by)
            self.stdout.write(f"{ha.cipher}: planned cut-over {'cleared' if options['clear'] else options['date']}.")
            return
        if subcommand == "shadow":
            for name in ("inbound", "nhais_outbound"):
                if not options[name].is_dir():
                    raise CommandError(f"{options[name]} is not a directory.")
            run = shadow.run_shadow(ha, options["inbound"], options["nhais_outbound"], by=by)
            self._print_shadow(run, options["json"])
            return
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        kwargs = {
            "file_name": path.name,
            "by": by,
            "dry_run": options["dry_run"],
            "skip_invalid": options["skip_invalid"],
        }
        if subcommand == "import":
            report = imports.import_registrations(ha, path.read_bytes(), open_cases=options["open_cases"], **kwargs)
            out = report.as_json()
        else:
            report = counters.import_counters(ha, path.read_bytes(), **kwargs)
            out = report.counters_json()
        if options["json"]:
            self.stdout.write(json.dumps(out))
        else:
            self._print_import(ha, report, subcommand)
        if report.invalid:
            sys.exit(1)

    def _print_import(self, ha, report: ImportReport, what: str) -> None:
        mode = " (dry run: nothing changed)" if report.dry_run else ""
        self.stdout.write(
            f"{ha.cipher} {what}{mode}: {report.rows} rows, {report.valid} valid, {report.invalid} invalid."
        )
        if report.refused:
            self.stdout.write("Nothing imported: fix the rows below, or import the valid rows with --skip-invalid.")
        else:
            self.stdout.write(f"{report.imported} imported or changed, {report.unchanged} unchanged.")
        for error in report.errors:
            self.stdout.write(f"  row {error.row}, {error.field}: {error.message}")
        if what == "import":
            r = report.reconciliation
            self.stdout.write(f"PDS: {r['agree']} agree, {r['differ']} differ, {r['not_in_pds']} not in PDS.")
            for difference in report.differences:
                self.stdout.write(f"  row {difference['row']}: {'; '.join(difference['differences'])}")
            if report.cases_opened:
                self.stdout.write(f"{report.cases_opened} migration cases opened for the NBO.")

    def _print_shadow(self, run, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(shadow.as_json(run)))
            return
        self.stdout.write(
            f"{run.ha.cipher} shadow run: {run.transactions} transactions, {run.agreed} agreed, "
            f"{run.disagreed} disagreed, {run.unmatched} unmatched ({run.agreement:.1%} agreement)."
        )
        for kind, counts in run.by_type.items():
            self.stdout.write(
                f"  {kind}: {counts['transactions']} ({counts['agreed']} agreed, {counts['disagreed']} disagreed, "
                f"{counts['unmatched']} unmatched)"
            )
        for item in run.unread:
            self.stdout.write(f"  could not read {item['file']}: {item['error']}")
