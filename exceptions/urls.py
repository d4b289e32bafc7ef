from django.urls import path

from . import views

app_name = "exceptions"
urlpatterns = [
    path("", views.home, name="home"),
    path("cases/", views.case_list, name="case-list"),
]
