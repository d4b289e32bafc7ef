"""Production mode, for real: `scripts/prod.sh` (what `make prod` runs) boots gunicorn with DEBUG=0,
whitenoise's manifest static files, a Celery worker and a beat, on free ports against the test database,
Redis and a private MESH sandbox. Everything is checked over HTTP, as a load balancer or a person would.

The second test is a short session of ordinary use (sign in, search, look at patients and cases, the
FHIR API, mistakes, an inbound message processed by the worker); then every line of every log of the run
(web, worker, beat) is read: each must be JSON, and none may carry the personal data the session used.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from factories import ApiTokenFactory, GPFactory, HealthAuthorityFactory, LinkFactory, PracticeFactory, UserFactory
from harness import free_port
from support import g1_interchange, wait_for

from core.nhs_number import from_serial
from pds import services

# django_db so the test database exists; the data is made once for the module (committed) in `production`.
pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
KNOWN = "9434765919"  # Jane Stevens, on PDS
UNKNOWN = from_serial(600_000_123)  # sent by a practice, not on PDS: a case opens
# Everything personal the session sends or shows; none of it may reach a log.
PERSONAL = [
    KNOWN,
    "943 476 5919",
    UNKNOWN,
    f"{UNKNOWN[:3]} {UNKNOWN[3:6]} {UNKNOWN[6:]}",
    "Stevens",
    "Jane",
    "LS1 4AP",
    "LS14AP",
    "1 High Street",
    "1980-05-17",
    "19800517",
]


@dataclass
class Production:
    url: str
    logs: Path
    proc: subprocess.Popen
    metrics_token: str
    api_token: str
    requests_made: list = field(default_factory=list)

    def session(self) -> requests.Session:
        """A client behind the TLS-terminating proxy: X-Forwarded-Proto https. requests would not send
        Secure cookies back over plain http (a browser on https would), so they are kept unflagged."""
        s = requests.Session()
        s.headers.update({"X-Forwarded-Proto": "https", "Origin": self.url.replace("http:", "https:")})

        def keep(response, *args, **kwargs):
            self.requests_made.append((response.request.method, response.status_code))
            for cookie in response.cookies:
                s.cookies.set(cookie.name, cookie.value)  # stored without the Secure flag

        s.hooks["response"].append(keep)
        return s

    def sign_in(self, username: str, password: str = PASSWORD) -> tuple[requests.Session, requests.Response]:
        s = self.session()
        page = s.get(f"{self.url}/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = s.post(
            f"{self.url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{self.url.replace('http:', 'https:')}/accounts/login/"},
            allow_redirects=False,
        )
        return s, answer

    def children(self) -> dict[str, int]:
        """The pids of the web, worker and beat processes prod.sh started."""
        out = subprocess.run(
            ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        found = {}
        for line in out.splitlines():
            pid, args = line.strip().split(" ", 1)
            for role in ("gunicorn", "worker", "beat"):
                if re.search(rf"\b{role}\b", args):
                    found[role] = int(pid)
        assert set(found) == {"gunicorn", "worker", "beat"}, out
        return found

    def log_lines(self) -> dict[str, list[str]]:
        return {
            name: (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
            for name in ("web", "worker", "beat")
        }


def _world():
    from accounts.models import BreakGlassAccount

    agent = UserFactory(username="asha.patel", first_name="Asha", last_name="Patel", roles=["NBO agent"])
    leader = UserFactory(username="lee.leader", first_name="Lee", last_name="Leader", roles=["Team leader"])
    # Production allows a password only to break-glass accounts (CIS2 is not reachable from a test).
    for person in (agent, leader):
        BreakGlassAccount.objects.create(user=person, reason="production-mode test")
    # A system that may read and amend: its malformed PATCH reaches the JSON parser, not a permission refusal.
    api_user = UserFactory(username="pds-amender", roles=["Team leader"])
    token = ApiTokenFactory(user=api_user)
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    practice = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    GPFactory(practice=practice, national_code="4826940", local_code="281")
    LinkFactory(practice=practice, ha=ha)
    import datetime as dt

    services.create_patient(
        family="Stevens",
        given=["Jane"],
        gender="2",
        birth_date=dt.date(1980, 5, 17),
        place_of_birth="Leeds",
        address={"road": "1 High Street", "post_town": "Leeds", "postcode": "LS1 4AP"},
        practice_ods="Z99999",
        registered_on=dt.date(2015, 1, 1),
        nhs_number=KNOWN,
        by="test-suite",
        reason="test fixture",
    )
    return token.raw


@pytest.fixture(scope="module")
def production(django_db_setup, django_db_blocker, mesh_server, tmp_path_factory):
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        api_token = _world()
    logs = tmp_path_factory.mktemp("prod-logs")
    port = free_port()
    db = settings.DATABASES["default"]
    metrics_token = secrets.token_urlsafe(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PCRM_", "CELERY_"))},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "POSTGRES_DB": db["NAME"],
        "POSTGRES_USER": db["USER"],
        "POSTGRES_PASSWORD": db["PASSWORD"],
        "POSTGRES_HOST": db["HOST"],
        "POSTGRES_PORT": str(db["PORT"]),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "CELERY_TASK_DEFAULT_QUEUE": f"prod-{db['NAME']}",
        "MESH_URL": mesh_server.url,
        "MESH_PASSWORD": settings.MESH_PASSWORD,
        "MESH_SHARED_KEY": settings.MESH_SHARED_KEY,
        "MESH_POLL_SECONDS": "1",
        "OUTBOX_RELAY_SECONDS": "2",
        "STATIC_ROOT": str(tmp_path_factory.mktemp("static")),
        "PCRM_LOG_DIR": str(logs),
        "METRICS_TOKEN": metrics_token,
        "PCRM_PASSWORD_SIGN_IN": "break-glass",
        "BEAT_READY_MAX_AGE_SECONDS": "12",
        "WORKER_READY_MAX_AGE_SECONDS": "30",
    }
    proc = subprocess.Popen(
        [str(REPO / "scripts/prod.sh")],
        cwd=REPO,
        env=env,
        stdout=(logs / "prod.sh.out").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def answers():
        assert proc.poll() is None, (logs / "prod.sh.out").read_text()
        try:
            return requests.get(f"{url}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(answers, timeout=120, message="gunicorn to answer /healthz")
        yield Production(url, logs, proc, metrics_token, api_token)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


def test_production_mode_serves_sign_in_static_files_health_headers_and_error_pages(production):
    url = production.url
    # prod.sh ran `manage.py check --deploy --fail-level WARNING` in production mode before starting anything.
    assert "System check identified no issues (0 silenced)." in (production.logs / "prod.sh.out").read_text()
    assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}

    # Readiness: the database, Redis, MESH (beat polls the sandbox), the worker and the beat all report.
    def ready():
        return requests.get(f"{url}/readyz", timeout=10).status_code == 200

    wait_for(ready, timeout=60, message="/readyz to be 200")
    body = requests.get(f"{url}/readyz", timeout=10).json()
    assert body["failing"] == [] and set(body["checks"]) == {"database", "redis", "mesh", "worker", "beat", "inbound"}

    # Plain http is sent to https (the proxy in front terminates TLS).
    assert requests.get(f"{url}/cases/", allow_redirects=False, timeout=5).status_code == 301

    s = production.session()
    login = s.get(f"{url}/accounts/login/")
    assert login.status_code == 200
    headers = login.headers
    csp = headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'self'" in script_src and "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in login.text  # no inline script is left for the CSP to block

    # A static file through whitenoise's manifest storage: a hashed name, cached for ever, compressed.
    css = re.search(r'href="(/static/nhsuk/nhsuk-frontend\.min\.[0-9a-f]{12}\.css)"', login.text).group(1)
    static = s.get(f"{url}{css}", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert static.status_code == 200 and static.headers["Content-Type"].startswith("text/css")
    assert "immutable" in static.headers["Cache-Control"] and static.headers.get("Content-Encoding") == "gzip"

    # Sign-in with a Secure, HttpOnly session cookie, then a page only a signed-in person sees.
    s, answer = production.sign_in("asha.patel")
    assert answer.status_code == 302, answer.text[:500]
    set_cookie = answer.headers["Set-Cookie"]
    assert "sessionid=" in set_cookie and "Secure" in set_cookie and "HttpOnly" in set_cookie
    queue = s.get(f"{url}/cases/")
    assert queue.status_code == 200 and "Asha Patel" in queue.text and queue.headers["Cache-Control"] == "no-store"

    # Error pages: NHS.UK pages, never Django's debug page.
    missing = s.get(f"{url}/no-such-page/")
    assert missing.status_code == 404 and "Page not found" in missing.text and "Traceback" not in missing.text
    refused = s.get(f"{url}/cases/", params={"q": "94\x0034"})
    assert refused.status_code == 400 and "cannot be stored" in refused.text
    fhir = requests.get(
        f"{url}/pds/FHIR/R4/Patient/{KNOWN}",
        headers={"X-Forwarded-Proto": "https", "X-Request-ID": str(uuid.uuid4())},
        timeout=5,
    )
    assert fhir.status_code == 401 and fhir.json()["resourceType"] == "OperationOutcome"

    # Metrics: with the token; refused to a relayed request without it.
    metrics = requests.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {production.metrics_token}"}, timeout=10
    )
    assert metrics.status_code == 200 and "pcrm_http_request_seconds_bucket" in metrics.text
    assert requests.get(f"{url}/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=5).status_code == 403


def test_a_session_of_ordinary_use_leaves_no_personal_data_in_any_log(production, mesh_as):
    url = production.url
    s, answer = production.sign_in("asha.patel")
    assert answer.status_code == 302

    # Inbound: a practice sends two acceptances; the beat polls MESH and the worker processes them.
    with mesh_as("GPMB00301") as gp:
        gp.send_message("PCRMHUB01", g1_interchange(sis=1, tn=1, nhs_number=KNOWN), workflow_id="NHAIS_REG")
        gp.send_message("PCRMHUB01", g1_interchange(sis=2, tn=2, nhs_number=UNKNOWN), workflow_id="NHAIS_REG")

    def case_opened():
        return "NHS number not known" in s.get(f"{url}/cases/", params={"view": "all"}).text or bool(
            re.search(r'href="/cases/(\d+)/', s.get(f"{url}/cases/", params={"view": "all"}).text)
        )

    wait_for(case_opened, timeout=90, message="the worker to open a case for the unknown NHS number")
    queue = s.get(f"{url}/cases/", params={"view": "all"}).text
    for case_id in sorted(set(re.findall(r'href="/cases/(\d+)/"', queue))):
        page = s.get(f"{url}/cases/{case_id}/")
        assert page.status_code == 200

    # The patient lookup: a search by name and date of birth (POSTed), the record, its history.
    search = s.get(f"{url}/pds/patients/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', search.text).group(1)
    found = s.post(
        f"{url}/pds/patients/",
        data={"csrfmiddlewaretoken": token, "surname": "Stevens", "forenames": "Jane", "birth_date": "1980-05-17"},
        headers={"Referer": f"{url.replace('http:', 'https:')}/pds/patients/"},
    )
    assert found.status_code == 200 and "943 476 5919" in found.text
    assert s.get(f"{url}/pds/patients/{KNOWN}/").status_code == 200
    assert s.get(f"{url}/pds/patients/{KNOWN}/history/").status_code == 200
    assert s.get(f"{url}/pds/patients/{UNKNOWN}/").status_code == 404
    assert s.get(f"{url}/cases/", params={"q": KNOWN}).status_code == 200
    # The audit trail is a team leader's: an agent is refused; a leader searches it by NHS number.
    assert s.get(f"{url}/audit/", params={"nhs_number": KNOWN}).status_code == 403
    leader, _ = production.sign_in("lee.leader")
    trail = leader.get(f"{url}/audit/", params={"nhs_number": KNOWN})
    assert trail.status_code == 200 and "943 476 5919" in trail.text, "Asha's look at the record is listed"
    assert s.get(f"{url}/dashboard/").status_code == 200

    # The FHIR API, as a system with a token: a read, a search (in the query string, as FHIR has it),
    # and mistakes: a bad id, a NUL, malformed JSON.
    api = production.session()
    api.headers["Authorization"] = f"Bearer {production.api_token}"
    api.headers["X-Request-ID"] = str(uuid.uuid4())  # mandatory on every FHIR call
    fhir = f"{url}/pds/FHIR/R4/Patient"
    read = api.get(f"{fhir}/{KNOWN}")
    assert read.status_code == 200
    search = api.get(fhir, params={"family": "Stevens", "given": "Jane", "birthdate": "eq1980-05-17"})
    assert search.status_code == 200 and search.json()["total"] == 1
    assert api.get(fhir, params={"family": "Stevens\x00", "birthdate": "eq1980-05-17"}).status_code == 400
    assert api.get(f"{fhir}/Stevens").status_code == 400
    # Permitted, current version: only the body is wrong, so the answer is the parser's own.
    bad = api.patch(
        f"{fhir}/{KNOWN}",
        data='{"patches": [',
        headers={"Content-Type": "application/json-patch+json", "If-Match": read.headers["ETag"]},
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["issue"][0]["details"]["coding"][0]["code"] == "INVALID_UPDATE"

    # A wrong password for a real person, and a guess at a username that is a patient's name.
    production.sign_in("asha.patel", "not-the-password")
    production.sign_in("jane.stevens", "guess")

    # Give the worker and beat a moment to write what they do after the last request.
    time.sleep(2)
    lines = production.log_lines()
    total = sum(len(v) for v in lines.values())
    assert all(lines.values()), {k: len(v) for k, v in lines.items()}
    leaks = []
    for name, entries in lines.items():
        for number, line in enumerate(entries, 1):
            record = json.loads(line)  # every line is one JSON object
            assert {"time", "level", "logger", "message", "process"} <= set(record), line
            for value in PERSONAL:
                if value.lower() in line.lower():
                    leaks.append(f"{name}.log:{number}: {value!r} in {line[:300]}")
    assert not leaks, "\n".join(leaks)
    web = [json.loads(line) for line in lines["web"]]
    access = [r for r in web if r["logger"] == "pcrm.access"]
    assert access and all(r.get("request_id") and "?" not in r["message"] for r in access)
    worker = [json.loads(line) for line in lines["worker"]]
    assert any(r.get("task_id") for r in worker)
    print(f"\nproduction session: {len(production.requests_made)} requests, {total} log lines read, no personal data")


def test_readiness_names_the_beat_when_it_stops(production):
    """A part really down (last in this module: the processes are shared): the beat process stops, and
    /readyz answers 503 naming it, and only it."""
    url = production.url
    assert requests.get(f"{url}/readyz", timeout=10).status_code == 200
    os.kill(production.children()["beat"], signal.SIGTERM)

    def beat_named():
        answer = requests.get(f"{url}/readyz", timeout=10)
        return answer.status_code == 503 and answer.json()["failing"] == ["beat"]

    wait_for(beat_named, timeout=40, message="/readyz to name the stopped beat")
    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200  # the web process itself is alive
