from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in and roles"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment checks)
