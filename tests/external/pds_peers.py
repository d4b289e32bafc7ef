"""NHS England's PDS material as test peers: its OpenAPI specification and its official sandbox.

Both are read from ../shared/peers (never copied into the repository) and only when a test asks:
nothing here touches ../shared at import time.

- `contract()` loads `pds-spec/personal-demographics.yaml` with openapi-core. The specification puts
  `$ref`s where OpenAPI 3.0 allows none (a whole operation is a `$ref` to a file), so openapi-core's
  check of the document itself is switched off; its references are still resolved and every schema
  is applied. `application/fhir+json` and `application/json-patch+json` bodies are JSON.
- `Sandbox` runs the official Node.js sandbox from a COPY made at test time in a temporary folder,
  its dependencies installed from npm with `npm ci` (the sandbox's own package-lock.json). The
  installed node_modules are kept in .run/ (ignored by git), keyed by the lock file's hash, so only
  the first run on a machine downloads anything.
"""

import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from support import REPO, SHARED

SPEC_ROOT = "peers/pds-spec/personal-demographics.yaml"
SANDBOX = "peers/pds-sandbox"
SPEC_HOST = "https://api.service.nhs.uk"
SPEC_BASE = "/personal-demographics/FHIR/R4"
DEPENDENCY_CACHE = REPO / ".run" / "pds-sandbox-deps"


@functools.cache
def contract():
    from openapi_core import Config, OpenAPI

    json_types = {"application/fhir+json": json.loads, "application/json-patch+json": json.loads}
    config = Config(spec_validator_cls=None, extra_media_type_deserializers=json_types)
    return OpenAPI.from_file_path(str(SHARED / SPEC_ROOT), config=config)


def _mock_request(method: str, path: str, query, headers: dict, body: bytes | None, content_type: str):
    from openapi_core.testing import MockRequest

    return MockRequest(
        SPEC_HOST,
        method,
        SPEC_BASE + path,
        args=list(query or []),
        headers=headers,
        data=body,
        content_type=content_type,
    )


def check_response(
    method: str,
    path: str,
    *,
    status: int,
    body: bytes,
    query=(),
    request_headers: dict | None = None,
    response_headers: dict | None = None,
) -> None:
    """Raise (openapi-core's error, naming the schema rule) unless the specification allows this answer
    to this request: the status, the headers it declares and the body against the schema."""
    from openapi_core.testing import MockResponse

    request = _mock_request(method, path, query, request_headers or {}, None, "application/json")
    response = MockResponse(
        body, status_code=status, headers=response_headers or {}, content_type="application/fhir+json"
    )
    contract().validate_response(request, response)


def check_request(prepared: requests.PreparedRequest) -> None:
    """Raise unless the specification allows this request (path, query, headers, PATCH body)."""
    url = urlsplit(prepared.url)
    path = url.path[url.path.index("/Patient") :]
    headers = dict(prepared.headers)
    contract().validate_request(
        _mock_request(
            prepared.method,
            path,
            parse_qsl(url.query),
            headers,
            prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode(),
            headers.get("Content-Type", "application/json"),
        )
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """The official PDS sandbox, copied to a temporary folder and run on a free loopback port."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="pcrm-pds-sandbox-"))
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.install_seconds = 0.0

    def start(self) -> "Sandbox":
        source = SHARED / SANDBOX
        copy = self.folder / "pds-sandbox"
        # A copy, writable: ../shared is read-only, and the sandbox is run as it was shipped.
        shutil.copytree(source, copy, copy_function=shutil.copyfile)
        started = time.monotonic()
        self._dependencies(copy)
        self.install_seconds = time.monotonic() - started
        port = _free_port()
        self.log = open(self.folder / "sandbox.log", "wb")  # noqa: SIM115 - kept open while it runs
        self.process = subprocess.Popen(
            ["node", "launch-local.js"],
            cwd=copy,
            env={**os.environ, "PORT": str(port), "SANDBOX_DIR": str(copy)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the PDS sandbox exited: {(self.folder / 'sandbox.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/_health", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the PDS sandbox did not answer /_health within 30s")

    def _dependencies(self, copy: Path) -> None:
        """`npm ci` once per lock file on this machine; later runs link the installed modules."""
        digest = hashlib.sha256((copy / "package-lock.json").read_bytes()).hexdigest()[:16]
        installed = DEPENDENCY_CACHE / digest / "node_modules"
        if not installed.is_dir():
            subprocess.run(
                ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"],
                cwd=copy,
                env={**os.environ, "npm_config_cache": str(DEPENDENCY_CACHE / "npm-cache")},
                check=True,
                capture_output=True,
                timeout=300,
            )
            installed.parent.mkdir(parents=True, exist_ok=True)
            staging = installed.parent / f"node_modules.{os.getpid()}"
            shutil.copytree(copy / "node_modules", staging, symlinks=True)
            try:
                staging.rename(installed)  # atomic: two runs at once never see half a folder
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)  # another run got there first
        else:
            (copy / "node_modules").symlink_to(installed)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def check_outcome(body: bytes) -> None:
    """Raise unless `body` is an OperationOutcome as the specification defines it (the schema of every
    error answer; checked here through the read operation's error response, which uses it)."""
    check_response("GET", "/Patient/9000000009", status=404, body=body)
