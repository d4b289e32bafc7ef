from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Non-production code: the demo world, population seeding and the `bench` command.

    Installed only when DEBUG is on or PCRM_DEVTOOLS=1 (pcrm_site/settings.py); nothing in the domain
    apps imports it, so production runs without it.
    """

    name = "devtools"
    verbose_name = "Developer tools (demo data and benchmarks)"
