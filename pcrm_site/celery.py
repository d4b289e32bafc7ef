"""The Celery app. Tasks are discovered from each app's tasks.py; the beat schedule is in settings."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcrm_site.settings")

app = Celery("pcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **kwargs) -> None:
    """Between tasks, as between web requests: a connection past CONN_MAX_AGE, one that saw an error,
    or one left in a transaction is closed; otherwise it is kept (and health-checked on first use),
    instead of Celery's default of a new connection per task (settings.CELERY_DB_REUSE_MAX)."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):  # an eager task is in its caller's
        close_old_connections()
