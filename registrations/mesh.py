"""MESH transport: the only module that talks to mesh-client.

mesh-client is synchronous and requests-based. We set short timeouts (its default is ten minutes,
far too long for a worker) and always close the client.
"""

from contextlib import contextmanager

import requests
from django.conf import settings
from django.dispatch import Signal
from mesh_client import MeshClient

WORKFLOW_REG = "NHAIS_REG"
WORKFLOW_RECEP = "NHAIS_RECEP"
WORKFLOW_CAPITATION = "PCRM_CAPITATION"

# Sent after every MESH session: ok=True when it ended without a transport or HTTP error from MESH,
# otherwise ok=False with the error's class name. Health and metrics (the ops app) listen.
mesh_session = Signal()


@contextmanager
def mesh_client(mailbox: str | None = None, password: str | None = None):
    kwargs = {"shared_key": settings.MESH_SHARED_KEY.encode(), "timeout": settings.MESH_TIMEOUT_SECONDS}
    if settings.MESH_CA_BUNDLE:
        kwargs["verify"] = settings.MESH_CA_BUNDLE
    if settings.MESH_CLIENT_CERT:
        # Live MESH authenticates the mailbox's machine by mutual TLS: the certificate issued for it.
        kwargs["cert"] = (settings.MESH_CLIENT_CERT, settings.MESH_CLIENT_KEY)
    try:
        with MeshClient(
            settings.MESH_URL, mailbox or settings.MESH_MAILBOX, password or settings.MESH_PASSWORD, **kwargs
        ) as client:
            _environment_once(client)
            yield client
    except requests.RequestException as exc:
        mesh_session.send(sender=None, ok=False, error=type(exc).__name__)
        raise
    mesh_session.send(sender=None, ok=True, error="")


def _environment_once(client: MeshClient) -> None:
    """Read the proxy and CA-bundle environment once per session instead of on every request.

    requests looks them up for each request (it walks os.environ and the no-proxy list): in a poll or
    relay of hundreds of messages that was a fifth of the MESH CPU. The session keeps what the
    environment said when it opened, which is what every request would have found.
    """
    session = getattr(client, "_session", None)
    if not isinstance(session, requests.Session) or not session.trust_env:
        return
    found = session.merge_environment_settings(
        getattr(client, "_url", settings.MESH_URL), session.proxies, None, session.verify, None
    )
    session.proxies = found["proxies"]
    session.verify = found["verify"]
    session.trust_env = False


def send(
    client: MeshClient,
    *,
    recipient: str,
    body: bytes,
    workflow: str,
    local_id: str,
    subject: str = "",
    filename: str = "edifact.dat",
    content_type: str = "application/octet-stream",
) -> str:
    return client.send_message(
        recipient,
        body,
        workflow_id=workflow,
        local_id=local_id,
        subject=subject or workflow,
        filename=filename,
        content_type=content_type,
    )
