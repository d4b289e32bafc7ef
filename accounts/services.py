"""Signing people in: CIS2 (role profile -> PCRM roles) and local passwords, each recorded in the session
and the audit log. Views call these; rules live in accounts.rbac."""

from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from core import roles

from . import audit, context, rbac, typed_work
from .models import NationalRoleMapping, StaffIdentity

CIS2_BACKEND = "accounts.backends.SessionRoleBackend"
STAFF_ROLES = (roles.ADMINISTRATOR,)  # Django admin, where the mapping table is edited


def mappings() -> list[rbac.Mapping]:
    rows = NationalRoleMapping.objects.filter(active=True).select_related("pcrm_role")
    return [rbac.Mapping(code=r.code, organisation=r.organisation, pcrm_role=r.pcrm_role.name) for r in rows]


def _user_for(userinfo: dict, id_claims: dict):
    """The PCRM user for this CIS2 identity, made on first sign-in; names kept up to date from CIS2."""
    uid = str(userinfo.get("nhsid_useruid") or userinfo.get("uid") or id_claims.get("sub"))
    identity = StaffIdentity.objects.select_related("user").filter(uid=uid).first()
    if identity is None:
        user = get_user_model().objects.create(username=f"cis2-{uid}")
        user.set_unusable_password()  # a CIS2 person never signs in with a PCRM password
        identity = StaffIdentity.objects.create(user=user, uid=uid)
    user = identity.user
    user.first_name = str(userinfo.get("given_name") or id_claims.get("given_name") or "")[:150]
    user.last_name = str(userinfo.get("family_name") or id_claims.get("family_name") or "")[:150]
    user.email = str(userinfo.get("email") or "")[:254]
    user.save()
    identity.last_sign_in = timezone.now()
    identity.save(update_fields=["last_sign_in"])
    return user


def refusal_detail(error: rbac.RoleRefused) -> dict:
    profile = error.profile
    return {
        "reason": error.reason,
        "role_profile_id": profile.role_id if profile else "",
        "role_code": profile.role_code if profile else "",
        "organisation": profile.org_code if profile else "",
    }


def sign_in_with_cis2(request, id_claims: dict, userinfo: dict) -> context.SignIn:
    """Sign the person in under their selected role profile, deriving PCRM's permissions afresh.

    Raises rbac.RoleRefused (after auditing it) when the role profile grants nothing in PCRM.
    """
    user = _user_for(userinfo, id_claims)
    changing_role = request.user.is_authenticated and request.user.pk == user.pk
    try:
        profile = rbac.selected_profile(id_claims, userinfo)
        roles = rbac.granted_roles(profile, mappings())
    except rbac.RoleRefused as error:
        if request.user.is_authenticated:
            # Asked to work under another role: the earlier role ends even though the new one is refused.
            logout(request)
            context.activate(None)
        detail = refusal_detail(error)
        audit.record(user, audit.SIGN_IN_REFUSED, object_type="user", object_id=user.pk, detail=detail)
        raise
    with transaction.atomic():
        # The groups mirror the latest sign-in, for lists such as "who can be assigned a case". What this
        # session may do comes from the session's own sign-in (accounts.backends), never from an older one.
        user.groups.set(Group.objects.filter(name__in=roles))
        # Django admin (where the mapping table is edited) is for the roles that administer PCRM.
        user.is_staff = any(role in STAFF_ROLES for role in roles)
        user.save(update_fields=["is_staff"])
        sign_in = context.SignIn(
            user_id=user.pk,
            method=context.CIS2,
            pcrm_roles=roles,
            role_profile_id=profile.role_id,
            role_name=profile.title,
            role_code=profile.role_code,
            org_code=profile.org_code,
            org_name=profile.org_name,
            acr=str(id_claims.get("acr", "")),
            activity_codes=profile.activity_codes,
        )
        _start_session(request, user, sign_in)
        audit.record(
            user,
            audit.CHANGE_ROLE if changing_role else audit.SIGN_IN,
            object_type="user",
            object_id=user.pk,
            detail={"method": context.CIS2, "acr": sign_in.acr, "pcrm_roles": list(roles)},
        )
    return sign_in


def sign_in_with_password(request, user, *, break_glass: bool) -> context.SignIn:
    roles = tuple(sorted(user.groups.values_list("name", flat=True)))
    method = context.BREAK_GLASS if break_glass else context.PASSWORD
    sign_in = context.SignIn(user_id=user.pk, method=method, pcrm_roles=roles)
    with transaction.atomic():
        _start_session(request, user, sign_in)
        audit.record(
            user,
            audit.BREAK_GLASS_SIGN_IN if break_glass else audit.SIGN_IN,
            object_type="user",
            object_id=user.pk,
            detail={"method": method, "pcrm_roles": list(roles)},
        )
    return sign_in


def _start_session(request, user, sign_in: context.SignIn) -> None:
    # login() rotates the session key (and empties the session when the person changes), so nothing of
    # an earlier sign-in survives into this one.
    if request.user.is_authenticated:
        request.session.flush()
    login(request, user, backend=CIS2_BACKEND)
    request.session[context.SESSION_KEY] = sign_in.to_session()
    # Typed work kept when this person's last session ended waits for them on its page.
    typed_work.note_waiting(request, user)
    request.sign_in = sign_in
    user.sign_in = sign_in
    context.activate(sign_in)
