from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .forms import ALL, BREAK_GLASS, OFF


@register()
def sign_in_settings(app_configs, **kwargs):
    problems = []
    if settings.PASSWORD_SIGN_IN not in (ALL, BREAK_GLASS, OFF):
        problems.append(
            Error("PCRM_PASSWORD_SIGN_IN must be all, break-glass or off", id="accounts.E001", obj="settings")
        )
    if settings.CIS2_ISSUER and not settings.CIS2_CLIENT_ID:
        problems.append(Error("CIS2_CLIENT_ID is required when CIS2_ISSUER is set", id="accounts.E002"))
    return problems


@register(Tags.security, deploy=True)
def production_sign_in(app_configs, **kwargs):
    problems = []
    if settings.PASSWORD_SIGN_IN == ALL:
        problems.append(
            Warning(
                "Every local account can sign in with a password (PCRM_PASSWORD_SIGN_IN=all).",
                hint="In production use CIS2 with PCRM_PASSWORD_SIGN_IN=off, or break-glass for emergency accounts.",
                id="accounts.W001",
            )
        )
    if not settings.CIS2_ISSUER and settings.PASSWORD_SIGN_IN == OFF:
        problems.append(Warning("Nobody can sign in: CIS2_ISSUER is empty and passwords are off.", id="accounts.W002"))
    return problems


@register(Tags.security, deploy=True)
def cis2_over_https(app_configs, **kwargs):
    if settings.CIS2_ISSUER and not settings.CIS2_ISSUER.startswith("https://"):
        return [
            Warning("CIS2_ISSUER is not an https URL: fine for the local provider, never for CIS2.", id="accounts.W003")
        ]
    return []
