"""An HA still on NHAIS (BE) with two practices, their GPs and links, and PDS patients registered there."""

from types import SimpleNamespace

import pytest
from factories import GPFactory, LinkFactory, PatientFactory, PracticeFactory

from registrations.models import HealthAuthority


@pytest.fixture
def nhais_ha(db):
    ha = HealthAuthority.objects.get(cipher="BE")
    HealthAuthority.objects.filter(pk=ha.pk).update(migrated=False, cutover_date=None, nhais_mailbox="NHAISBE1")
    ha.refresh_from_db()
    first = PracticeFactory(ods_code="K81001", name="Caversham", link_code="PAL5", ha=ha)
    second = PracticeFactory(ods_code="K81002", name="Tilehurst", link_code="PAM5", ha=ha)
    gp1 = GPFactory(practice=first, national_code="4800110", local_code="110")
    gp2 = GPFactory(practice=second, national_code="4800120", local_code="120")
    for practice in (first, second):
        LinkFactory(practice=practice, ha=ha)
    elsewhere = PracticeFactory(ods_code="C85001", link_code="PAB5", ha=HealthAuthority.objects.get(cipher="BAA"))
    GPFactory(practice=elsewhere, national_code="4800010", local_code="10")
    patients = [
        PatientFactory(nhs_number="9434765919", name="STEVENS JANE", registered_at="K81001"),
        PatientFactory(nhs_number="9434765870", name="PATEL AISHA", registered_at="K81002"),
        PatientFactory(nhs_number="9000000009", name="JONES MARY", registered_at="K81001"),
    ]
    return SimpleNamespace(ha=ha, first=first, second=second, gp1=gp1, gp2=gp2, patients=patients)
