from django.urls import path

from .views import audit, case, dashboard, queue, settings, team

app_name = "exceptions"
urlpatterns = [
    path("", queue.home, name="home"),
    path("team/", team.team_home, name="team"),
    path("cases/", queue.case_list, name="case-list"),
    path("settings/", settings.work_settings, name="settings"),
    path("cases/take-next/", queue.take_next, name="take-next"),
    path("cases/bulk/", queue.bulk, name="bulk"),
    path("cases/saved-filters/", queue.save_filter, name="save-filter"),
    path("cases/saved-filters/<int:pk>/delete/", queue.delete_filter, name="delete-filter"),
    path("cases/workload/", queue.workload, name="workload"),
    path("cases/<int:pk>/", case.case_detail, name="case-detail"),
    path("cases/<int:pk>/claim/", case.claim, name="case-claim"),
    path("cases/<int:pk>/release/", case.release, name="case-release"),
    path("cases/<int:pk>/assign/", case.assign, name="case-assign"),
    path("cases/<int:pk>/notes/", case.add_note, name="case-note"),
    path("cases/<int:pk>/actions/<slug:action>/", case.case_action, name="case-action"),
    path("cases/<int:pk>/trace/", case.trace, name="case-trace"),
    path("dashboard/", dashboard.dashboard_view, name="dashboard"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
]
