from django.urls import path

from . import views

app_name = "registrations"
urlpatterns = [
    path("interchanges/", views.interchange_list, name="interchange-list"),
]
