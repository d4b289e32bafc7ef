"""Who is calling the FHIR API: a bearer token (systems) or the signed-in session (the back office)."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone

from .models import ApiToken, hash_token

# Writing last_used_at on every call would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class NotAuthenticated(Exception):
    pass


def _bearer(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _token_user(raw: str):
    """The token's user with permissions and role, in one query (a read is a handful of milliseconds,
    so the usual token, user, user-permission and group-permission queries would be most of it)."""
    User = get_user_model()
    user_table = User._meta.db_table
    user_groups = User.groups.through._meta.db_table
    user_perms = User.user_permissions.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    sql = f"""
        SELECT t.id, t.last_used_at, u.id, u.{User.USERNAME_FIELD}, u.is_active, u.is_superuser,
          ARRAY(SELECT ct.app_label || '.' || perm.codename
                FROM {Permission._meta.db_table} perm
                JOIN {ContentType._meta.db_table} ct ON ct.id = perm.content_type_id
                WHERE perm.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = u.id
                                  UNION SELECT gp.permission_id FROM {group_perms} gp
                                  JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = u.id)),
          ARRAY(SELECT g.name FROM {Group._meta.db_table} g JOIN {user_groups} ug ON ug.group_id = g.id
                WHERE ug.user_id = u.id ORDER BY g.name)
        FROM {ApiToken._meta.db_table} t JOIN {user_table} u ON u.id = t.user_id
        WHERE t.key_hash = %s AND t.revoked_at IS NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [hash_token(raw)])
        row = cursor.fetchone()
    if row is None:
        return None, None, None
    token_id, last_used, user_id, username, is_active, is_superuser, perms, groups = row
    user = User(pk=user_id, is_active=is_active, is_superuser=is_superuser, **{User.USERNAME_FIELD: username})
    user._state.adding = False
    user._state.db = "default"
    user._perm_cache = set(perms)  # what ModelBackend.has_perm consults, so no further queries
    role = ", ".join(groups) or ("superuser" if is_superuser else "")
    return user, (token_id, last_used), role


def authenticate(request):
    """The user behind the request, or NotAuthenticated (with the reason, never the token).

    Sets `request.pds_token` (the token id, or None for a session) and `request.pds_role` (the
    caller's role names, for the audit log).
    """
    raw = _bearer(request)
    if raw is not None:
        user, token, role = _token_user(raw)
        if user is None or not user.is_active:
            raise NotAuthenticated("The access token is not valid")
        token_id, last_used = token
        now = timezone.now()
        if last_used is None or now - last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
        request.pds_token = token_id
        request.pds_role = role
        return user
    if request.headers.get("Authorization"):
        raise NotAuthenticated("Only bearer tokens are accepted")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        request.pds_token = None
        request.pds_role = None
        return user
    raise NotAuthenticated("Missing access token or session")


def csrf_failure(request) -> str | None:
    """For a session-authenticated write, the CSRF check a normal view would get (None when it passes).

    The API views are csrf_exempt because bearer-token callers have no CSRF cookie; a browser session
    must still prove the request came from our pages.
    """
    if getattr(request, "pds_token", None) is not None:
        return None
    response = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
    return None if response is None else "CSRF verification failed"
