"""List production code nothing in production uses: candidates to remove (or to move into tests).

vulture (a dev tool, requirements.txt) finds names no Python in the production apps uses. Django and
Celery reach many names in other ways (templates, settings strings, admin and form hooks, scripts), so
a name counts as used when it appears again anywhere production code, templates, scripts or settings
can name it. What is left is printed with how often the tests name it: "tests only" means a production
function that only tests call. Run with `make deadcode`; each line is a place to look, not a verdict.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APPS = ["core", "accounts", "pds", "registrations", "exceptions", "migration", "ops", "pcrm_site", "devtools"]
ELSEWHERE = [*APPS, "templates", "static/js", "scripts", "pyproject.toml"]
KINDS = ("function", "class", "method", "property")
# Names Django, Celery or the logging module call by convention, never by a reference in our code.
HOOKS = re.compile(
    r"^(clean_\w*|render_\w*|filter_\w*|has_\w+_permission|add_arguments|handle|Command|\w+Config|\w+Admin|"
    r"form_valid|to_url|to_python|process_\w+|format\w*|value_from_datadict|value_omitted_from_data|valid_value)$"
)
# The MESH, Redis and Celery harness the tests start is devtools' by design (docs/adr/0008).
FOR_TESTS = {"devtools/harness.py"}
FOUND = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): unused (?P<kind>\w+) '(?P<name>[^']+)'")


def mentions(name: str, places: list[str]) -> int:
    word = re.compile(rf"\b{re.escape(name)}\b")
    count = 0
    for place in places:
        root = REPO / place
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            if "migrations" in path.parts or path.suffix not in (".py", ".html", ".js", ".toml", ".txt"):
                continue
            count += len(word.findall(path.read_text(errors="ignore")))
    return count


def decorated(path: str, line: int) -> bool:
    """A decorator (a system check, a task, a subcommand) registers the name where vulture cannot see."""
    lines = (REPO / path).read_text().splitlines()
    return lines[line - 1].lstrip().startswith("@")  # vulture gives the first decorator's line


def main() -> int:
    vulture = [sys.executable, "-m", "vulture", *APPS, "--exclude", "*/migrations/*", "--min-confidence", "60"]
    report = subprocess.run(vulture, cwd=REPO, capture_output=True, text=True, check=False).stdout
    for line in report.splitlines():
        found = FOUND.match(line)
        if not found or found["kind"] not in KINDS or HOOKS.match(found["name"]) or found["path"] in FOR_TESTS:
            continue
        if decorated(found["path"], int(found["line"])):
            continue
        if mentions(found["name"], ELSEWHERE) > 1:  # the definition, and a use vulture cannot see
            continue
        in_tests = mentions(found["name"], ["tests"])
        print(
            f"{found['path']}:{found['line']}: {found['kind']} {found['name']}: "
            + ("tests only" if in_tests else "unused")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
