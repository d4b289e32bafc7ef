"""`manage.py gplinks`: real processes, so exit codes and stderr are exactly what a user sees."""

from __future__ import annotations

import json
import subprocess
import sys

import corpus
import pytest
from support import REPO, segments_of

MULTI = corpus.DIR / "ha-batch-f4-f2-f9.edi"  # three messages, F4 F2 F9


def gplinks(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "gplinks", *map(str, args)],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("gplinks: ")
    for fragment in fragments:
        assert fragment in err


def test_parse_prints_the_json_shape():
    result = gplinks("parse", MULTI)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sis"] == 309 and data["sender"] == "XX11"
    assert [m["sms"] for m in data["messages"]] == [409, 410, 411]
    assert data["messages"][0]["transactions"][0] == {
        "tn": 61,
        "type": "F4",
        "gp_code": "4826940,281",
        "nhs_number": None,
        "errors": [],
        "warnings": [],
    }
    assert result.stdout.startswith(b'{\n  "sender"')  # indent 2


def test_parse_reads_stdin_and_reports_control_problems_only_when_strict():
    bad = corpus.read("recep-negative.edi").replace(b"UNT+9+00000604", b"UNT+11+00000604")
    lenient = gplinks("parse", "-", stdin=bad)
    assert lenient.returncode == 0
    assert json.loads(lenient.stdout)["recep"]["messages"][1] == {"sms": 213, "code": "CA"}
    assert_one_line_failure(gplinks("parse", "--strict", "-", stdin=bad), "segment 10: UNT declares 11")


def test_recep_prints_the_receipt_with_our_numbers():
    result = gplinks("recep", MULTI, "--sis", "12", "--sms", "34")
    assert result.returncode == 0, result.stderr
    segs = segments_of(result.stdout.strip())
    assert segs[0].startswith("UNB+UNOA:2+TES5+XX11+") and segs[0].endswith("+00000012++RECEP+++EDIFACT TRANSFER")
    assert segs[1] == "UNH+00000034+RECEP:0:2:FH"
    assert segs[5:9] == [f"RFF+MIS:00000{n} CP" for n in (409, 410, 411)] + ["RFF+RIS:00000309 OK:3"]
    assert segs[-2:] == ["UNT+9+00000034", "UNZ+1+00000012"]


def test_build_inverts_parse(tmp_path):
    document = tmp_path / "batch.json"
    document.write_bytes(gplinks("parse", MULTI).stdout)
    result = gplinks("build", document)
    assert result.returncode == 0, result.stderr
    # JSON carries no per-message DTM+137 (NHAIS's are untrusted): the UNB time is used, as here.
    assert segments_of(result.stdout.strip()) == segments_of(MULTI.read_bytes())


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("parse", "no-such-file.dat"), ("no-such-file.dat: no such file",)),
        (("parse", "tests"), ("tests: is a directory",)),
        (("parse", "pyproject.toml"), ("segment 1: an interchange must start with UNB",)),
        (("recep", corpus.DIR / "recep-negative.edi"), ("RECEPs are not themselves acknowledged",)),
        (("recep", MULTI, "--sis", "0"), ("SIS must be an integer",)),
        (("build", "pyproject.toml"), ("not JSON",)),
        (("build", "no-such.json"), ("no such file",)),
    ],
)
def test_unreadable_input_is_one_line_and_exit_1(args, fragments):
    assert_one_line_failure(gplinks(*args), *fragments)


def test_build_of_a_bad_document_is_one_line(tmp_path):
    document = tmp_path / "bad.json"
    document.write_text(json.dumps({"sender": "A", "recipient": "B", "sis": "x"}))
    assert_one_line_failure(gplinks("build", document), "sis must be an integer")
    document.write_text("[1, 2]")
    assert_one_line_failure(gplinks("build", document), "must be an object")


def test_truncated_interchange_is_one_line():
    cut = MULTI.read_bytes().index(b"UNT+")  # inside the first message
    assert_one_line_failure(gplinks("parse", "-", stdin=MULTI.read_bytes()[:cut]), "is not closed by UNT")


def test_call_command_works_in_process(capsys):
    from django.core.management import call_command

    call_command("gplinks", "parse", str(MULTI))
    assert [m["type"] for m in json.loads(capsys.readouterr().out)["messages"]] == ["F4", "F2", "F9"]
