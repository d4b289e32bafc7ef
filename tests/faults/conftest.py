"""Fixtures for faults through the real processes: a GP Links link, the test's own Redis and MESH, and a
remote PDS that fails for a while before answering."""

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PracticeFactory
from faults_support import FlakyPds, OwnMesh
from harness import RedisServer


@pytest.fixture
def link(transactional_db):
    ha = HealthAuthorityFactory(cipher="XX1", link_code="XX11", migrated=True)
    practice = PracticeFactory(ods_code="A10001", link_code="TES5", ha=ha, mesh_mailbox="GPMB00301")
    GPFactory(practice=practice, national_code="4826940", local_code="281")
    return LinkFactory(practice=practice, ha=ha)


@pytest.fixture
def private_redis(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def flaky_pds(live_server):
    fronts = []

    def _make(failures: int) -> FlakyPds:
        fronts.append(FlakyPds(live_server.url, failures))
        return fronts[-1]

    yield _make
    for front in fronts:
        front.stop()


@pytest.fixture
def own_mesh(settings, celery_worker_process):
    own = OwnMesh(settings, celery_worker_process)
    yield own
    if own.sandbox.proc.poll() is None:
        own.sandbox.stop()
