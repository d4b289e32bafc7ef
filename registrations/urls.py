from django.urls import include, path

from . import views

app_name = "registrations"
urlpatterns = [
    path("interchanges/", views.interchange_list, name="interchange-list"),
    path("interchanges/<int:pk>/", views.interchange_detail, name="interchange-detail"),
    path("capitation/", include("registrations.capitation.urls")),
]
