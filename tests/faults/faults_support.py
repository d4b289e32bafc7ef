"""Helpers for the fault tests (fixtures are in conftest.py; acting as beat does is support.beat): reading
what reached a MESH mailbox, a remote PDS that fails for a while, and a MESH sandbox a test may stop and start."""

import http.server
import threading
from collections import Counter

import requests
from harness import MeshSandbox


def mailbox(open_mailbox, box: str) -> list[tuple[str, bytes]]:
    """(workflow, body) of every message waiting in a MESH mailbox, read without acknowledging."""
    with open_mailbox(box) as client:
        found = []
        for message_id in client.list_messages():
            message = client.retrieve_message(message_id)
            found.append((message.workflow_id, message.read()))
        return found


def sent_to_practice(open_mailbox, box: str = "GPMB00301") -> tuple[Counter, Counter]:
    """What reached the practice: the NHS numbers approved by F4s (an F4 quotes the TN of the acceptance
    it approves), and the SIS numbers each RECEP answers. Repeats show as counts above one."""
    from registrations.gplinks import parse_interchange
    from registrations.models import Transaction

    acceptances = dict(Transaction.objects.filter(type="G1").values_list("tn", "nhs_number"))
    approvals, receipts = Counter(), Counter()
    for workflow, body in mailbox(open_mailbox, box):
        interchange = parse_interchange(body)
        if workflow == "NHAIS_RECEP":
            receipts[interchange.recep.interchange_sis] += 1
            continue
        for message in interchange.messages:
            approvals.update(acceptances.get(tx.tn, f"TN {tx.tn}") for tx in message.transactions if tx.type == "F4")
    return approvals, receipts


class FlakyPds:
    """An HTTP front for PDS: the first `failures` requests get a 503 (as a busy PDS answers), the rest
    are passed to the real FHIR API behind it."""

    def __init__(self, upstream: str, failures: int):
        self.upstream = upstream.rstrip("/")
        self.failures_left = failures
        self.failed = 0
        self.passed = 0
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/pds/FHIR/R4"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with front.lock:
                    fail = front.failures_left > 0
                    front.failures_left -= int(fail)
                    front.failed += int(fail)
                    front.passed += int(not fail)
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, front.upstream + self.path, headers=headers, data=body, timeout=30
                )
                self.send_response(answer.status_code)
                for name in ("Content-Type", "ETag", "Location"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PATCH = _any

            def log_message(self, *args):
                pass

        return Handler

    def stop(self):
        self.server.shutdown()


class OwnMesh:
    """A MESH sandbox for one test, which it may stop and start again on the same port."""

    def __init__(self, settings, start_worker):
        self.sandbox = MeshSandbox()
        self.url = self.sandbox.url
        self.settings = settings
        self._start_worker = start_worker
        settings.MESH_URL = self.url

    def open(self, box: str):
        from mesh_client import MeshClient

        key = self.settings.MESH_SHARED_KEY.encode()
        return MeshClient(self.url, box, self.settings.MESH_PASSWORD, shared_key=key, timeout=10)

    def worker(self, **kwargs):
        return self._start_worker(mesh_url=self.url, **kwargs)

    def stop(self) -> None:
        self.sandbox.stop()

    def restart(self) -> None:
        self.sandbox = MeshSandbox(port=self.sandbox.port)
