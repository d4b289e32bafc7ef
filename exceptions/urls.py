from django.urls import path

from . import views, views_audit, views_case, views_dashboard

app_name = "exceptions"
urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case-list"),
    path("cases/take-next/", views.take_next, name="take-next"),
    path("cases/bulk/", views.bulk, name="bulk"),
    path("cases/<int:pk>/", views_case.case_detail, name="case-detail"),
    path("cases/<int:pk>/claim/", views_case.claim, name="case-claim"),
    path("cases/<int:pk>/release/", views_case.release, name="case-release"),
    path("cases/<int:pk>/assign/", views_case.assign, name="case-assign"),
    path("cases/<int:pk>/notes/", views_case.add_note, name="case-note"),
    path("cases/<int:pk>/actions/<slug:action>/", views_case.case_action, name="case-action"),
    path("dashboard/", views_dashboard.dashboard_view, name="dashboard"),
    path("audit/", views_audit.audit_log, name="audit"),
]
