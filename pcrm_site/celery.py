"""The Celery app. Tasks are discovered from each app's tasks.py; the beat schedule is in settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcrm_site.settings")

app = Celery("pcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
