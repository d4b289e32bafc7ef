"""`python manage.py bench <area> --json`: performance is measured here, never asserted by timed tests.

Each area is a module with `run(options) -> dict`. Figures are compared with a limit or a peer
measured in the same run, as a ratio, because these machines are noisy.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

AREAS = {
    "codec": "devtools.benchmarks.codec.run",
    "pipeline": "devtools.benchmarks.pipeline.run",
    "pipeline-phases": "devtools.benchmarks.pipeline_phases.run",
    "pds": "devtools.benchmarks.pds.run",
    "queue": "devtools.benchmarks.queue.run",
    "capitation": "devtools.benchmarks.capitation.run",
    "rules": "devtools.benchmarks.autoprocessing.run",
    "migration": "devtools.benchmarks.migration.run",
}


class Command(BaseCommand):
    help = "Run a benchmark area and print its figures."

    def add_arguments(self, parser):
        parser.add_argument("area", choices=sorted(AREAS))
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("-n", "--size", type=int, default=None, help="override the area's default size")
        parser.add_argument("--nodes", type=int, default=0, help="pipeline: workers as N separate nodes")
        parser.add_argument("--soak", type=float, default=0, help="pipeline: offer national peak for MINUTES")
        parser.add_argument("--steady", type=float, default=0, help="pipeline: seconds of steady 30 tx/s offered")
        parser.add_argument("--rate", type=float, default=0, help="pipeline --soak: tx/s offered (default 30)")
        parser.add_argument("--poll", type=float, default=0, help="pipeline: seconds between polls (default 0.5)")
        parser.add_argument(
            "--processes", type=int, default=0, help="pipeline: worker processes of the one worker (default 2)"
        )

    def handle(self, *args, area, size=None, nodes=0, soak=0, steady=0, rate=0, processes=0, poll=0, **options):
        try:
            run = import_string(AREAS[area])
        except ImportError as exc:
            raise CommandError(f"benchmark area '{area}' is not built yet ({exc})") from exc
        figures = run(
            {
                "size": size,
                "nodes": nodes,
                "soak": soak,
                "steady": steady,
                "rate": rate,
                "processes": processes,
                "poll": poll,
            }
        )
        if options["json"]:
            self.stdout.write(_dumps(figures))
        else:
            for key, value in figures.items():
                self.stdout.write(f"{key}: {value}")


def _dumps(figures: dict) -> str:
    return json.dumps(figures, sort_keys=False)
