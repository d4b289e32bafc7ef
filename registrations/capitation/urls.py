"""Close of quarter and capitation pages, under /registrations/capitation/ (namespace registrations:capitation)."""

import datetime as dt

from django.urls import path, register_converter

from . import views


class IsoDateConverter:
    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)  # an impossible date raises ValueError: no match, so 404

    def to_url(self, value) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

app_name = "capitation"
urlpatterns = [
    path("", views.quarter_list, name="quarter-list"),
    path("close/", views.close_quarter, name="close"),
    path("<isodate:quarter_end>/", views.quarter_report, name="report"),
    path("<isodate:quarter_end>/progress/", views.quarter_progress, name="progress"),
    path("<isodate:quarter_end>/capitation.csv", views.download_csv, name="csv"),
    path("<isodate:quarter_end>/summary.json", views.download_summary, name="summary"),
    path("<isodate:quarter_end>/resend/", views.resend, name="resend"),
]
