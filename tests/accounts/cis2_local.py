"""The local CIS2 provider (scripts/cis2-local/provider.mjs, oidc-provider from npm) for tests: a real
OpenID Connect provider in its own Node process on a free port, and a way to sign in through it with plain
HTTP (`requests`), as a browser would but without one."""

import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support import REPO, wait_for
from time_machine import escape_hatch

CLIENT_ID = "pcrm-local"
ID_TOKEN_TTL = 300  # short, so a test can step past it with time-machine inside the 30-minute session

# The demo staff (scripts/cis2-local/staff.json) by what their role profiles grant.
AGENT = "555000000011"  # Alex Agent: B0825 -> NBO agent
LEADER = "555000000012"  # Terry Leader: two role profiles, team leader (…1201) and agent (…1202)
LEADER_AS_LEADER = "555000001201"
LEADER_AS_AGENT = "555000001202"
PCSE = "555000000013"  # Pat Pcse: B9102 -> PCSE viewer
ADMIN = "555000000014"  # Ada Admin: B9103 and more -> Administrator
RECEPTIONIST = "555000000015"  # Rita Reception: B0820 only -> no mapping, no access
NO_ROLES = "555000000016"  # Norah Noroles: no role profiles at all


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clock_offset() -> int:
    """How far time-machine has moved this process's clock (0 when it has not)."""
    return round(time.time() - escape_hatch.time.time()) if escape_hatch.is_travelling() else 0


def write_client_key(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return path


@dataclass
class LocalCis2:
    issuer: str
    key_file: Path
    process: subprocess.Popen

    @classmethod
    def start(cls, workdir: Path, redirect_uri: str) -> "LocalCis2":
        port = free_port()
        key_file = write_client_key(workdir / "pcrm-client-key.pem")
        env = {
            **os.environ,
            "CIS2_LOCAL_PORT": str(port),
            "CIS2_LOCAL_CLIENT_ID": CLIENT_ID,
            "CIS2_LOCAL_CLIENT_KEY": str(key_file),
            "CIS2_LOCAL_REDIRECT_URIS": redirect_uri,
            "CIS2_LOCAL_ID_TOKEN_TTL": str(ID_TOKEN_TTL),
            # Under PCRM_TEST_NOW this process's clock is moved; the provider's follows it.
            "CIS2_LOCAL_CLOCK_OFFSET_SECONDS": str(clock_offset()),
        }
        log = (workdir / "provider.log").open("w")
        process = subprocess.Popen(
            ["node", str(REPO / "scripts" / "cis2-local" / "provider.mjs")],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        provider = cls(issuer=f"http://127.0.0.1:{port}", key_file=key_file, process=process)
        wait_for(provider.ready, timeout=30, message="the local CIS2 provider to start")
        return provider

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"the local CIS2 provider exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=2).ok
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class HttpSignIn:
    """Sign in to PCRM through the local CIS2 provider with `requests`, step by step.

    Each step returns the response it stopped at, so a test can tamper with what the browser would carry
    (the state in the callback URL, the session) before the next.
    """

    def __init__(self, pcrm_url: str):
        self.pcrm_url = pcrm_url
        self.http = requests.Session()

    def start(self, path: str = "/accounts/cis2/start/") -> requests.Response:
        """Open PCRM's sign-in and follow it to the provider's "whose smartcard" page."""
        response = self.http.get(f"{self.pcrm_url}{path}", timeout=10)
        assert "/interaction/" in response.url, response.url
        return response

    def choose_person(self, interaction: requests.Response, uid: str) -> requests.Response:
        return self.http.post(
            f"{interaction.url.rstrip('/')}/login", data={"uid": uid}, timeout=10, allow_redirects=False
        )

    def choose_role(self, interaction: requests.Response, uid: str, role_id: str) -> requests.Response:
        url = re.sub(r"/login$", "/role", interaction.url)
        return self.http.post(url, data={"uid": uid, "role": role_id}, timeout=10, allow_redirects=False)

    def to_callback(self, response: requests.Response) -> str:
        """Follow the provider's redirects up to (not into) PCRM's callback; return the callback URL."""
        while response.is_redirect:
            location = requests.compat.urljoin(response.url, response.headers["Location"])
            if location.startswith(f"{self.pcrm_url}/accounts/cis2/callback/"):
                return location
            response = self.http.get(location, timeout=10, allow_redirects=False)
        raise AssertionError(
            f"the provider did not send the browser back to PCRM: {response.status_code} {response.url}"
        )

    def callback_url(self, uid: str, role_id: str | None = None) -> str:
        """Sign in as `uid` at the provider (choosing `role_id` when asked) and return PCRM's callback URL."""
        interaction = self.start()
        response = self.choose_person(interaction, uid)
        if response.status_code == 200 and "Select your role" in response.text:
            response.url = f"{interaction.url.rstrip('/')}/login"
            response = self.choose_role(response, uid, role_id or "")
        return self.to_callback(response)

    def finish(self, callback_url: str) -> requests.Response:
        return self.http.get(callback_url, timeout=10)

    def sign_in(self, uid: str, role_id: str | None = None) -> requests.Response:
        return self.finish(self.callback_url(uid, role_id))

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(f"{self.pcrm_url}{path}", timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        csrf = self.http.cookies.get("csrftoken")
        headers = {"X-CSRFToken": csrf or "", "Referer": f"{self.pcrm_url}/"}
        return self.http.post(f"{self.pcrm_url}{path}", timeout=10, headers=headers, **kwargs)
