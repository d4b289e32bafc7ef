app_name = "pds"
urlpatterns: list = []  # FHIR API and patient lookup: the PDS issue
