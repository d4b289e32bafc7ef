"""`python manage.py gplinks <subcommand>`: the GP Links codec from the command line.

    gplinks parse FILE [--strict]          interchange (FHSREG or RECEP) -> JSON on stdout
    gplinks recep FILE [--sis N] [--sms N] the RECEP PCRM would send back for FILE
    gplinks build FILE.json                JSON (the parse shape) -> EDIFACT on stdout
    gplinks ingest FILE... [--json]        feed files through the MESH pipeline, synchronously

FILE may be ``-`` for stdin. Only ``ingest`` touches the database (and MESH, to send replies). Input that
cannot be read ends the command with exit status 1 and one line on stderr, never a traceback.

Adding a subcommand is one decorated function; ``run`` gets the parsed options and returns the
text for stdout (raise :class:`CommandFailure` or CodecError for a one-line failure)::

    @subcommand("ingest", "feed FILE through the pipeline", arguments=_file_argument)
    def _ingest(options: dict) -> str:
        ...
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from registrations.gplinks import CodecError, build_interchange, build_recep, from_json, parse_interchange, to_json
from registrations.gplinks.envelope import LONDON


class CommandFailure(Exception):
    """A failure the user can act on; its message is printed as the single stderr line."""


@dataclass(frozen=True)
class Subcommand:
    help: str
    arguments: Callable[[CommandParser], None]
    run: Callable[[dict], str]


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, help: str, *, arguments: Callable[[CommandParser], None]):
    def register(run: Callable[[dict], str]) -> Callable[[dict], str]:
        SUBCOMMANDS[name] = Subcommand(help=help, arguments=arguments, run=run)
        return run

    return register


class Command(BaseCommand):
    help = "GP Links (NHAIS EDIFACT) codec tools: parse, recep, build."
    # Pure file tools: no system checks, so they run without a database or any service.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
        for name, spec in SUBCOMMANDS.items():
            spec.arguments(subparsers.add_parser(name, help=spec.help, description=spec.help))

    def handle(self, *args, subcommand: str, **options) -> None:
        try:
            output = SUBCOMMANDS[subcommand].run(options)
        except (CommandFailure, CodecError) as exc:
            self._fail(str(exc))
        self.stdout.write(output)

    def _fail(self, message: str) -> None:
        self.stderr.write(f"gplinks: {' '.join(message.split())}")
        sys.exit(1)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    path = Path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CommandFailure(f"{name}: no such file") from None
    except IsADirectoryError:
        raise CommandFailure(f"{name}: is a directory") from None
    except OSError as exc:
        raise CommandFailure(f"{name}: cannot read ({exc.strerror or exc})") from None


def _parse_file(name: str, *, strict: bool = False):
    try:
        return parse_interchange(_read(name), strict=strict)
    except CodecError as exc:
        raise CommandFailure(f"{name}: {exc}") from None


def _file_argument(parser: CommandParser) -> None:
    parser.add_argument("file", help="EDIFACT interchange file, or - for stdin")


def _parse_arguments(parser: CommandParser) -> None:
    _file_argument(parser)
    parser.add_argument("--strict", action="store_true", help="treat UNT/UNZ count and reference errors as fatal")


@subcommand("parse", "Print an interchange (FHSREG or RECEP) as JSON.", arguments=_parse_arguments)
def _parse(options: dict) -> str:
    return json.dumps(to_json(_parse_file(options["file"], strict=options["strict"])), indent=2)


def _recep_arguments(parser: CommandParser) -> None:
    _file_argument(parser)
    parser.add_argument("--sis", type=int, default=1, help="the RECEP's own interchange number (default 1)")
    parser.add_argument("--sms", type=int, default=1, help="the RECEP's own message number (default 1)")


@subcommand("recep", "Print the RECEP PCRM would send back for an interchange.", arguments=_recep_arguments)
def _recep(options: dict) -> str:
    received = _parse_file(options["file"])
    now = dt.datetime.now(LONDON).replace(second=0, microsecond=0)
    try:
        return build_recep(received, sis=options["sis"], sms=options["sms"], now=now).decode("latin-1")
    except CodecError as exc:
        raise CommandFailure(f"{options['file']}: {exc}") from None


@subcommand("build", "Print the EDIFACT interchange for a JSON document in the parse shape.", arguments=_file_argument)
def _build(options: dict) -> str:
    name = options["file"]
    raw = _read(name)
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandFailure(f"{name}: not JSON ({exc})") from None
    try:
        return build_interchange(from_json(document)).decode("latin-1")
    except CodecError as exc:
        raise CommandFailure(f"{name}: {exc}") from None


def _ingest_arguments(parser: CommandParser) -> None:
    parser.add_argument("files", nargs="+", help="EDIFACT interchange files")
    parser.add_argument("--json", action="store_true", help="one JSON object per transaction, one per line")
    parser.add_argument("--no-send", action="store_true", help="number the replies but leave sending to the relay")


@subcommand(
    "ingest", "Feed interchange files through the same pipeline as MESH, synchronously.", arguments=_ingest_arguments
)
def _ingest(options: dict) -> str:
    # Imported here so the pure codec subcommands never need Django's database layer.
    from django.db import Error as DatabaseError

    from registrations.services import replay

    paths = [Path(name) for name in options["files"]]
    for path in paths:
        if not path.is_file():
            raise CommandFailure(f"{path}: no such file")
    try:
        rows = [row for path in paths for row in replay.ingest_file(path)]
    except DatabaseError as exc:
        raise CommandFailure(f"database unavailable: {exc}") from None
    if not options["no_send"]:
        try:
            replay.send_replies()
        except Exception as exc:  # MESH being down must not lose the replay's result
            sys.stderr.write(
                f"gplinks: replies are queued; sending failed ({type(exc).__name__}), the relay will retry\n"
            )
    if options["json"]:
        return "\n".join(json.dumps(row) for row in rows)
    return "\n".join(
        f"{row['interchange']['sender']}->{row['interchange']['recipient']} SIS {row['interchange']['sis']} "
        f"SMS {row['sms']} TN {row['tn']} {row['type']}: {row['status']}"
        + (f" ({row['exception_kind']})" if row["exception_kind"] else "")
        + "".join(f"; {o['type']} to {o['recipient']}" + (f" TN {o['tn']}" if o["tn"] else "") for o in row["outbound"])
        for row in rows
    )
