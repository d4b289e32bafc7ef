from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RegistrationsConfig(AppConfig):
    name = "registrations"
    verbose_name = "Registrations"

    def ready(self) -> None:
        from .reference import ensure_health_authorities

        post_migrate.connect(ensure_health_authorities, sender=self)
