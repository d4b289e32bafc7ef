from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Exceptions and work queue"

    def ready(self) -> None:
        # Processing in `registrations` must not import this app, so it reports cases through a
        # port that we plug in here (dependency inversion keeps exceptions -> registrations one-way).
        from registrations import ports

        from .services import cases

        ports.register_case_sink(cases.open_case, cases.close_answered_cases)

        # PDS pages and the FHIR API audit every view of a patient record through the same kind of port.
        from pds import audit as pds_audit

        from .services import audit

        pds_audit.register_audit_sink(audit.record)

        # Sign-ins (accounts) are audited through a port too: accounts never imports this app.
        from accounts import audit as accounts_audit

        accounts_audit.register_audit_sink(audit.record)

        from django.db.models.signals import post_migrate

        from core.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
