from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

# The sign-in and sign-out pages keep their global names ("login", "logout") in pcrm_site.urls.
urlpatterns = [
    path("cis2/start/", views.cis2_start, name="cis2-start"),
    path("cis2/callback/", views.cis2_callback, name="cis2-callback"),
    path("cis2/change-role/", views.cis2_change_role, name="cis2-change-role"),
]

# Before Django admin's URLs: the admin signs in through PCRM's sign-in page, never its own form.
admin_sign_in_patterns = [path("admin/login/", views.admin_sign_in, name="admin-sign-in")]

sign_in_patterns = [
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The idle-timeout script keeps what was typed when the session ends (accounts.typed_work).
    path("session/typed-work/", views.keep_typed_work, name="keep-typed-work"),
]
