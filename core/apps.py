from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared web infrastructure: NHS.UK tags and forms, presenters, htmx helpers, locks, roles. No models."""

    name = "core"
    verbose_name = "Shared web infrastructure"

    def ready(self):
        from . import admin

        admin.install()
