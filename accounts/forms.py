from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm

from .models import BreakGlassAccount

ALL = "all"
BREAK_GLASS = "break-glass"
OFF = "off"


def password_sign_in() -> str:
    """PCRM_PASSWORD_SIGN_IN: `all` local accounts (demo and development), `break-glass` accounts only, or `off`."""
    return settings.PASSWORD_SIGN_IN


class PasswordSignInForm(AuthenticationForm):
    """Django's username/password check, refused unless this deployment allows the account a password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "passwords_off": "Sign in with your smartcard (CIS2). Password sign-in is not available here.",
        "not_break_glass": "This account cannot sign in with a password. Sign in with your smartcard (CIS2).",
    }

    def clean(self):
        if password_sign_in() == OFF:
            raise forms.ValidationError(self.error_messages["passwords_off"], code="passwords_off")
        return super().clean()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        self.break_glass = BreakGlassAccount.active_for(user) is not None
        if password_sign_in() == BREAK_GLASS and not self.break_glass:
            raise forms.ValidationError(self.error_messages["not_break_glass"], code="not_break_glass")
