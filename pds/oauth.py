"""How PCRM proves who it is to a remote PDS: NHS England's API platform OAuth 2.0.

Application-restricted access (what PCRM's unattended processing uses) is the "signed JWT
authentication" pattern: PCRM signs a short-lived JWT with its private key (RS512, the key id in the
header, its API key as issuer and subject, the token endpoint as audience, a fresh jti) and sends it
to the token endpoint as a client-credentials grant; the endpoint answers with a bearer token that
lasts a few minutes. The token is cached and fetched again shortly before it expires, or at once
when PDS answers 401 (revoked or expired early).

User-restricted access (a healthcare worker present, CIS2) uses the same signed JWT in a token
exchange for the user's CIS2 ID token (`user_token`); docs/pds.md says how it is wired.

PyJWT (with cryptography) signs; requests posts. No secret or token is ever logged.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

import jwt
import requests

from . import errors

logger = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ASSERTION_LIFETIME_SECONDS = 300  # the platform refuses assertions valid for more than five minutes
REFRESH_MARGIN_SECONDS = 30  # fetch a new token this long before the old one expires


class Auth(Protocol):
    def headers(self) -> dict[str, str]:
        """The Authorization header (empty when there is no authentication)."""

    def invalidate(self) -> None:
        """Forget a token the server refused, so the next request fetches a new one."""


class NoAuth:
    """For a sandbox, which needs no token."""

    def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        pass


@dataclass
class StaticToken:
    """One fixed bearer token: PCRM's own FHIR API (pds.auth's API tokens)."""

    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def invalidate(self) -> None:
        pass


class SignedJwtAuth:
    """Client credentials with a signed JWT assertion, the token cached until shortly before expiry."""

    refreshable = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        key_id: str,
        private_key: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock=time.time,  # for the token cache (tests move it on)
    ):
        if not (token_url and client_id and key_id and private_key):
            raise ValueError("signed-JWT authentication needs a token URL, client id, key id and private key")
        self.token_url = token_url
        self.client_id = client_id
        self.key_id = key_id
        self.private_key = private_key
        self.timeout = timeout
        self.session = session or requests.Session()
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0  # how many tokens were fetched (tests and the log read it)

    def assertion(self) -> str:
        now = int(time.time())  # the platform checks it against the real time, whatever the cache's clock
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS512", headers={"kid": self.key_id})

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token()}"}

    def invalidate(self) -> None:
        with self._lock:
            self._token, self._expires_at = None, 0.0

    def access_token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN_SECONDS:
                self._token, lifetime = self._fetch(
                    {
                        "grant_type": "client_credentials",
                        "client_assertion_type": CLIENT_ASSERTION_TYPE,
                        "client_assertion": self.assertion(),
                    }
                )
                self._expires_at = self._clock() + lifetime
            return self._token

    def user_token(self, id_token: str) -> str:
        """A user-restricted access token for a signed-in healthcare worker (CIS2 ID token exchange).
        Not cached here: it belongs to that user's session."""
        token, _ = self._fetch(
            {
                "grant_type": TOKEN_EXCHANGE,
                "subject_token_type": ID_TOKEN_TYPE,
                "subject_token": id_token,
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": self.assertion(),
            }
        )
        return token

    def _fetch(self, form: dict[str, str]) -> tuple[str, float]:
        try:
            response = self.session.post(self.token_url, data=form, timeout=self.timeout)
        except requests.RequestException as exc:
            raise errors.Unavailable("the PDS token endpoint could not be reached") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise errors.Unavailable(f"the PDS token endpoint answered {response.status_code}")
        if response.status_code != 200:
            # The platform's error body names the problem (invalid_client, invalid_request...), not a secret.
            try:
                reason = response.json().get("error", "")
            except ValueError:
                reason = ""
            raise errors.AccessDenied(f"the PDS token endpoint refused PCRM ({response.status_code} {reason})")
        try:
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in", 0))
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.BadResponse("the PDS token endpoint answered without an access token") from exc
        self.fetched += 1
        logger.info("PDS access token fetched (valid %.0fs)", lifetime)
        return token, lifetime


_shared: dict[tuple, SignedJwtAuth] = {}
_shared_lock = threading.Lock()


def from_settings() -> Auth:
    """The authentication PDS_AUTH names: "signed-jwt", "token" (a fixed bearer token) or "none".

    One SignedJwtAuth per configuration and process, so every gateway in a worker shares its token
    (a gateway is made per task; a token per task would be a token request per transaction).
    """
    from django.conf import settings

    if settings.PDS_AUTH == "signed-jwt":
        key = _private_key(settings.PDS_OAUTH_PRIVATE_KEY, settings.PDS_OAUTH_PRIVATE_KEY_FILE)
        config = (settings.PDS_OAUTH_TOKEN_URL, settings.PDS_OAUTH_CLIENT_ID, settings.PDS_OAUTH_KEY_ID, key)
        with _shared_lock:
            if config not in _shared:
                _shared[config] = SignedJwtAuth(
                    token_url=config[0], client_id=config[1], key_id=config[2], private_key=config[3]
                )
            return _shared[config]
    if settings.PDS_AUTH == "token" and settings.PDS_API_TOKEN:
        return StaticToken(settings.PDS_API_TOKEN)
    return NoAuth()


def _private_key(inline: str, path: str) -> str:
    if inline:
        return inline
    if path:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    return ""
