"""Migration pages under /migration/ (namespace migration)."""

from django.urls import path

from . import views

app_name = "migration"
urlpatterns = [
    path("", views.ha_list, name="ha-list"),
    path("<str:cipher>/", views.readiness, name="readiness"),
    path("<str:cipher>/shadow/<int:pk>/", views.shadow_report, name="shadow"),
    path("<str:cipher>/cut-over/", views.cut_over_view, name="cut-over"),
    path("<str:cipher>/cut-back/", views.cut_back_view, name="cut-back"),
    path("<str:cipher>/plan/", views.plan_view, name="plan"),
]
