"""Permissions come from the session's sign-in, not from whatever the user row says now.

A CIS2 session may do what its selected role profile's PCRM roles allow, worked out at sign-in; the
same person signed in elsewhere under another role profile has that role's permissions there. Other
sessions (passwords, and tests that force a login) use Django's groups as before.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class SessionRoleBackend(ModelBackend):
    def _session_permissions(self, user_obj) -> set[str] | None:
        sign_in = getattr(user_obj, "sign_in", None)
        if sign_in is None or not sign_in.via_cis2:
            return None
        if not user_obj.is_active:
            return set()
        cache = getattr(user_obj, "_cis2_perm_cache", None)
        if cache is None or cache[0] != sign_in.pcrm_roles:
            rows = (
                Permission.objects.filter(group__name__in=sign_in.pcrm_roles)
                .values_list("content_type__app_label", "codename")
                .distinct()
            )
            cache = (sign_in.pcrm_roles, {f"{app}.{codename}" for app, codename in rows})
            user_obj._cis2_perm_cache = cache
        return cache[1]

    def get_user_permissions(self, user_obj, obj=None):
        if self._session_permissions(user_obj) is not None:
            return set()  # a CIS2 session has no per-user grants: only its role profile's
        return super().get_user_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj, obj=None):
        session = self._session_permissions(user_obj)
        return session if session is not None else super().get_group_permissions(user_obj, obj)

    def get_all_permissions(self, user_obj, obj=None):
        session = self._session_permissions(user_obj)
        return set(session) if session is not None else super().get_all_permissions(user_obj, obj)
