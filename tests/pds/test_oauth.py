"""Signed-JWT client credentials for the remote PDS (pds/oauth.py), token caching and refresh.

NHS England's token endpoint (its API platform's OAuth 2.0 server) cannot run here: these tests use a
small token endpoint of our own on the loopback, a STAND-IN, which checks what the platform's
documentation says it checks (an RS512 JWT signed with the key registered under the header's kid,
issuer and subject the client id, audience the token URL, expiring within five minutes, a jti not
seen before) and issues short-lived bearer tokens. A stand-in PDS beside it accepts only live tokens
it issued, so expiry and revocation can be shown.
"""

import http.server
import json
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pds import errors, oauth
from pds.client import PdsClient

CLIENT_ID = "pcrm-test-api-key"
KEY_ID = "pcrm-test-1"
PATIENT = {"resourceType": "Patient", "id": "9000000009", "meta": {"versionId": "2"}}


def _key_pair() -> tuple[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


PRIVATE_PEM, PUBLIC_KEY = _key_pair()
OTHER_PEM, _ = _key_pair()


class Platform(http.server.BaseHTTPRequestHandler):
    """The stand-in token endpoint (POST /oauth2/token) and a PDS that wants its tokens (GET /Patient/..)."""

    public_keys: dict = {}
    lifetime = 600
    tokens: dict[str, float] = {}  # token -> expiry (time.time())
    seen_jti: set[str] = set()
    assertions: list[dict] = []
    exchanges: list[str] = []
    reads = 0

    def _send(self, status: int, body: dict, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status == 200 and "resourceType" in body:
            self.send_header("ETag", 'W/"2"')
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        token_url = f"http://{self.headers['Host']}/oauth2/token"
        try:
            header = jwt.get_unverified_header(form["client_assertion"])
            claims = jwt.decode(
                form["client_assertion"],
                self.public_keys[header["kid"]],
                algorithms=["RS512"],
                audience=token_url,
                issuer=CLIENT_ID,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
            assert form["client_assertion_type"] == oauth.CLIENT_ASSERTION_TYPE
            assert claims["sub"] == CLIENT_ID and claims["exp"] - claims["iat"] <= 300
            assert claims["jti"] not in self.seen_jti
        except (jwt.PyJWTError, KeyError, AssertionError):
            return self._send(401, {"error": "invalid_client", "error_description": "assertion refused"})
        type(self).seen_jti.add(claims["jti"])
        type(self).assertions.append({"header": header, "claims": claims})
        if form["grant_type"] == oauth.TOKEN_EXCHANGE:
            if form.get("subject_token_type") != oauth.ID_TOKEN_TYPE or not form.get("subject_token"):
                return self._send(400, {"error": "invalid_request"})
            type(self).exchanges.append(form["subject_token"])
        elif form["grant_type"] != "client_credentials":
            return self._send(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        type(self).tokens[token] = time.time() + self.lifetime
        self._send(200, {"access_token": token, "expires_in": str(self.lifetime), "token_type": "Bearer"})

    def do_GET(self):
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) < time.time():
            return self._send(401, _outcome("ACCESS_DENIED"), "application/fhir+json")
        type(self).reads += 1
        self._send(200, PATIENT, "application/fhir+json")

    def log_message(self, *args):
        pass


def _outcome(code: str) -> dict:
    coding = {"system": "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode", "code": code}
    issue = {"severity": "error", "code": "forbidden", "details": {"coding": [coding]}}
    return {"resourceType": "OperationOutcome", "issue": [issue]}


@pytest.fixture
def platform():
    Platform.public_keys = {KEY_ID: PUBLIC_KEY}
    Platform.lifetime, Platform.tokens, Platform.seen_jti = 600, {}, set()
    Platform.assertions, Platform.exchanges, Platform.reads = [], [], 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _auth(base: str, **kwargs) -> oauth.SignedJwtAuth:
    return oauth.SignedJwtAuth(
        token_url=f"{base}/oauth2/token",
        client_id=CLIENT_ID,
        key_id=kwargs.pop("key_id", KEY_ID),
        private_key=kwargs.pop("private_key", PRIVATE_PEM),
        **kwargs,
    )


def test_a_signed_assertion_gets_a_token_that_pds_accepts(platform):
    auth = _auth(platform)
    client = PdsClient(platform, auth=auth)
    resource, version = client.read("9000000009")
    assert (resource["id"], version) == ("9000000009", 2)
    [assertion] = Platform.assertions
    assert assertion["header"]["alg"] == "RS512" and assertion["header"]["kid"] == KEY_ID
    claims = assertion["claims"]
    assert (claims["iss"], claims["sub"], claims["aud"]) == (CLIENT_ID, CLIENT_ID, f"{platform}/oauth2/token")
    assert uuid.UUID(claims["jti"])


def test_the_token_is_cached_until_shortly_before_it_expires(platform):
    now = [time.time()]
    auth = _auth(platform, clock=lambda: now[0])
    client = PdsClient(platform, auth=auth)
    for _ in range(3):
        client.read("9000000009")
    assert (auth.fetched, Platform.reads) == (1, 3)
    now[0] += Platform.lifetime - oauth.REFRESH_MARGIN_SECONDS + 1  # inside the refresh margin
    client.read("9000000009")
    assert auth.fetched == 2
    assert len({a["claims"]["jti"] for a in Platform.assertions}) == 2  # a fresh assertion each time


def test_a_token_pds_refuses_is_fetched_again_once(platform):
    auth = _auth(platform)
    client = PdsClient(platform, auth=auth)
    client.read("9000000009")
    Platform.tokens.clear()  # revoked (or expired early) on the platform's side
    resource, _ = client.read("9000000009")
    assert resource["id"] == "9000000009" and auth.fetched == 2
    Platform.lifetime = -1  # every token it issues is already expired: refused after one refresh
    auth.invalidate()
    with pytest.raises(errors.AccessDenied):
        client.read("9000000009")


def test_a_refused_assertion_is_access_denied_and_says_no_secret(platform):
    auth = _auth(platform, private_key=OTHER_PEM)  # not the key registered under this kid
    with pytest.raises(errors.AccessDenied) as raised:
        PdsClient(platform, auth=auth).read("9000000009")
    message = str(raised.value)
    assert "invalid_client" in message and "PRIVATE" not in message and CLIENT_ID not in message


def test_a_token_endpoint_that_cannot_be_reached_is_transient():
    auth = oauth.SignedJwtAuth(
        token_url="http://127.0.0.1:9/oauth2/token", client_id=CLIENT_ID, key_id=KEY_ID, private_key=PRIVATE_PEM
    )
    with pytest.raises(errors.Unavailable):
        auth.access_token()
    with pytest.raises(ValueError, match="token URL"):
        oauth.SignedJwtAuth(token_url="", client_id=CLIENT_ID, key_id=KEY_ID, private_key=PRIVATE_PEM)


def test_user_restricted_access_exchanges_the_users_id_token(platform):
    auth = _auth(platform)
    token = auth.user_token("a-cis2-id-token")
    assert Platform.tokens[token] > time.time()
    assert Platform.exchanges == ["a-cis2-id-token"]


def test_settings_choose_the_authentication_and_workers_share_one_token(platform, settings, tmp_path):
    key_file = tmp_path / "pcrm.pem"
    key_file.write_text(PRIVATE_PEM)
    settings.PDS_FHIR_URL = platform
    settings.PDS_AUTH = "signed-jwt"
    settings.PDS_OAUTH_TOKEN_URL = f"{platform}/oauth2/token"
    settings.PDS_OAUTH_CLIENT_ID = CLIENT_ID
    settings.PDS_OAUTH_KEY_ID = KEY_ID
    settings.PDS_OAUTH_PRIVATE_KEY = ""
    settings.PDS_OAUTH_PRIVATE_KEY_FILE = str(key_file)
    first, second = PdsClient.from_settings(), PdsClient.from_settings()
    assert first.auth is second.auth
    first.read("9000000009")
    second.read("9000000009")
    assert first.auth.fetched == 1
    settings.PDS_AUTH = "token"
    settings.PDS_API_TOKEN = "t0k3n"
    assert PdsClient.from_settings().auth.headers() == {"Authorization": "Bearer t0k3n"}
    settings.PDS_AUTH = "none"
    assert PdsClient.from_settings().auth.headers() == {}
