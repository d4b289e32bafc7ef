"""A small GP Links world for processing tests: two HAs on PCRM and one still on NHAIS, practices with
GPs and links, and GP systems that send through the real MESH sandbox."""

from types import SimpleNamespace

import pytest
from factories import GPFactory, HealthAuthorityFactory, LinkFactory, PatientFactory, PracticeFactory
from processing_support import GP

from registrations.models import HealthAuthority


def _ha(cipher: str, *, migrated: bool) -> HealthAuthority:
    ha = HealthAuthorityFactory(cipher=cipher)
    HealthAuthority.objects.filter(pk=ha.pk).update(migrated=migrated, cutover_date=None)
    ha.refresh_from_db()
    return ha


@pytest.fixture
def world(mesh, mesh_as):
    xx1 = _ha("XX1", migrated=True)
    cov = _ha("COV", migrated=True)
    be = _ha("BE", migrated=False)
    new = PracticeFactory(ods_code="A10001", name="New Surgery", link_code="TES5", ha=xx1, mesh_mailbox="GPMB00301")
    old = PracticeFactory(ods_code="B20002", name="Old Surgery", link_code="OLD5", ha=xx1, mesh_mailbox="GPMB00302")
    far = PracticeFactory(ods_code="C30003", name="Far Surgery", link_code="FAR5", ha=cov, mesh_mailbox="GPMB00303")
    nhais = PracticeFactory(ods_code="K81001", name="Nhais Surgery", link_code="NHA5", ha=be, mesh_mailbox="GPMB00304")
    gps = {
        "new": GPFactory(practice=new, national_code="4826940", local_code="281"),
        "new2": GPFactory(practice=new, national_code="4826944", local_code="285"),
        "old": GPFactory(practice=old, national_code="4826941", local_code="282"),
        "far": GPFactory(practice=far, national_code="4826942", local_code="283"),
        "nhais": GPFactory(practice=nhais, national_code="4826943", local_code="284"),
    }
    for practice in (new, old, far, nhais):
        LinkFactory(practice=practice, ha=practice.ha)
    return SimpleNamespace(
        xx1=xx1,
        cov=cov,
        be=be,
        new=new,
        old=old,
        far=far,
        nhais=nhais,
        gps=gps,
        gp_new=GP(mesh_as, new, "XX11"),
        gp_old=GP(mesh_as, old, "XX11"),
        gp_far=GP(mesh_as, far, "COV1"),
    )


@pytest.fixture
def patient():
    """Jane Stevens, born 17 May 1980, registered at the old practice since 2015."""
    return PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="B20002")
