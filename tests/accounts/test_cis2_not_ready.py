"""CIS2 configured but PCRM's client key missing or unreadable: a clear refusal, never a server error."""

import logging

import pytest

pytestmark = pytest.mark.django_db

CODE = "c0de-f0r-jane-stevens"


@pytest.fixture
def key_missing(settings, tmp_path):
    settings.CIS2_ISSUER = "http://127.0.0.1:9/cis2"  # never reached: the key is read first
    settings.CIS2_CLIENT_ID = "pcrm-test"
    settings.CIS2_CLIENT_KEY_FILE = str(tmp_path / "absent.pem")
    return settings


@pytest.fixture
def key_not_a_key(key_missing, tmp_path):
    (tmp_path / "absent.pem").write_text("not a key")
    return key_missing


@pytest.mark.parametrize("setup", ["key_missing", "key_not_a_key"])
@pytest.mark.parametrize("url", ["/accounts/cis2/start/", f"/accounts/cis2/callback/?code={CODE}&state=s1"])
def test_sign_in_is_refused_plainly_and_logged_without_the_request(client, caplog, request, setup, url):
    request.getfixturevalue(setup)
    with caplog.at_level(logging.WARNING, logger="accounts"):
        response = client.get(url)
    assert response.status_code == 503
    page = response.content.decode()
    assert "Sign-in could not be completed" in page
    assert "problem with PCRM's own set-up, not with your smartcard" in page
    assert "absent.pem" not in page
    (record,) = [r for r in caplog.records if r.name == "accounts.views"]
    assert record.levelno == logging.ERROR
    assert "CIS2_CLIENT_KEY_FILE" in record.getMessage()
    assert CODE not in record.getMessage() and "absent.pem" not in record.getMessage()


def test_a_signed_in_person_changing_role_is_refused_the_same_way(client, key_missing):
    from support import role_user

    client.force_login(role_user("NBO agent"))
    response = client.post("/accounts/cis2/change-role/")
    assert response.status_code == 503
    assert "not with your smartcard" in response.content.decode()


def test_the_key_is_used_as_soon_as_it_is_in_place(client, key_missing, tmp_path):
    """The failure is not remembered: once an operator puts the key there, sign-in starts (and then meets
    the provider, unreachable here: a 502, "CIS2 could not be reached")."""
    assert client.get("/accounts/cis2/start/").status_code == 503
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, private=True)
    (tmp_path / "absent.pem").write_bytes(key.as_pem(private=True))
    assert client.get("/accounts/cis2/start/").status_code == 502
