from django.apps import AppConfig


class PdsConfig(AppConfig):
    name = "pds"
    verbose_name = "Personal Demographics Service"
