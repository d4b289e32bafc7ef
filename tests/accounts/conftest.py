import pytest
from cis2_local import CLIENT_ID, HttpSignIn, LocalCis2
from django.contrib.auth.models import Group

from accounts import defaults
from accounts.models import NationalRoleMapping


@pytest.fixture(scope="session")
def cis2_provider(live_server, tmp_path_factory):
    """One local CIS2 provider for the run, registered with the live server's callback URL."""
    provider = LocalCis2.start(tmp_path_factory.mktemp("cis2"), f"{live_server.url}/accounts/cis2/callback/")
    yield provider
    provider.stop()


@pytest.fixture
def cis2(cis2_provider, settings):
    """PCRM configured for the local provider (the live server runs in this process, so it sees this too)."""
    settings.CIS2_ISSUER = cis2_provider.issuer
    settings.CIS2_CLIENT_ID = CLIENT_ID
    settings.CIS2_CLIENT_KEY_FILE = str(cis2_provider.key_file)
    settings.CIS2_CLIENT_KEY_ID = ""
    settings.CIS2_ACR_VALUES = ["AAL3_ANY"]
    # Transactional tests empty the tables after each test, the shipped mapping rows with them.
    defaults.install(Group, NationalRoleMapping)
    return cis2_provider


@pytest.fixture
def http_sign_in(cis2, live_server):
    return HttpSignIn(live_server.url)
