from django.urls import path, re_path

from . import api, views

app_name = "pds"
urlpatterns = [
    # FHIR R4 Patient API, shaped like the national PDS (no trailing slashes, as FHIR URLs have none).
    path("FHIR/R4/Patient", api.patient_search, name="fhir-search"),
    path("FHIR/R4/Patient/<str:nhs_number>", api.patient, name="fhir-patient"),
    re_path(r"^FHIR/R4/(?P<path>.*)$", api.not_found),
    # Patient lookup for the back office.
    path("patients/", views.patient_search, name="patient-search"),
    path("patients/<str:nhs_number>/", views.patient_detail, name="patient-detail"),
    path("patients/<str:nhs_number>/history/", views.patient_history, name="patient-history"),
]
