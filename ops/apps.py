from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running PCRM: health, metrics, private JSON logs, request ids and the hardening middleware."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from . import admin_guard, heartbeat, metrics

        metrics.connect_signals()
        heartbeat.connect_signals()
        admin_guard.install()
