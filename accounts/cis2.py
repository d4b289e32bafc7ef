"""The OpenID Connect client for NHS CIS2 Authentication, built with Authlib.

Authlib does the protocol: discovery (issuer + /.well-known/openid-configuration), state, nonce, PKCE
(S256), `private_key_jwt` client authentication at the token endpoint, and the ID token's signature,
issuer, audience, expiry and nonce checks. This module only configures it from settings and asks for
the assurance level (`acr_values`) PCRM requires, then checks the ID token's `acr` is one of them.
"""

import functools
import time
from pathlib import Path

from authlib.integrations.django_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from joserfc.jwk import RSAKey


class ClientKeyUnavailable(Exception):
    """CIS2 sign-in is configured, but PCRM's client key (CIS2_CLIENT_KEY_FILE) cannot be read or is not
    a key: nothing can be signed, so no sign-in can start or finish until an operator fixes it."""


def enabled() -> bool:
    return bool(settings.CIS2_ISSUER)


def scopes() -> str:
    return " ".join(settings.CIS2_SCOPES)


def acr_values() -> list[str]:
    return list(settings.CIS2_ACR_VALUES)


def client():
    """The registered Authlib app for the configured CIS2 environment (cached per configuration)."""
    if not enabled():
        raise ImproperlyConfigured("CIS2_ISSUER is not set: CIS2 sign-in is off")
    # The discovery document and keys are fetched again after an hour, so a key rotation is picked up.
    return _client(
        settings.CIS2_ISSUER.rstrip("/"),
        settings.CIS2_CLIENT_ID,
        str(settings.CIS2_CLIENT_KEY_FILE),
        settings.CIS2_CLIENT_KEY_ID,
        scopes(),
        " ".join(acr_values()),
        int(time.time() // 3600),
    )


@functools.lru_cache(maxsize=8)
def _client(issuer: str, client_id: str, key_file: str, key_id: str, scope: str, acr: str, _hour: int):
    try:
        key = RSAKey.import_key(Path(key_file).read_bytes())
    except (OSError, ValueError) as error:
        # Not cached (lru_cache keeps only results), so the key is picked up once it is in place.
        raise ClientKeyUnavailable(type(error).__name__) from error
    oauth = OAuth()
    return oauth.register(
        "cis2",
        client_id=client_id,
        client_secret=key,  # Authlib signs the private_key_jwt client assertion with it
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_auth_methods=[PrivateKeyJWT(headers={"kid": key_id} if key_id else None)],
        client_kwargs={
            "scope": scope,
            "token_endpoint_auth_method": "private_key_jwt",
            "code_challenge_method": "S256",
            "default_timeout": settings.CIS2_TIMEOUT_SECONDS,
        },
        authorize_params={"acr_values": acr} if acr else None,
    )


def claims_options() -> dict:
    """ID token checks beyond Authlib's defaults: the issuer we discovered, and the assurance level."""
    options: dict = {
        "iss": {"essential": True, "values": [client().load_server_metadata()["issuer"]]},
        "aud": {"essential": True, "values": [settings.CIS2_CLIENT_ID]},
    }
    if acr_values():
        options["acr"] = {"essential": True, "values": acr_values()}
    return options
