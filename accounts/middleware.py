from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login

from . import context, typed_work


class SignInMiddleware:
    """Put the session's sign-in (role profile, organisation) on the request and on request.user, and make
    it current for the request, so permission checks and the audit log see the role in use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sign_in = None
        if request.user.is_authenticated:
            sign_in = context.SignIn.from_session(request.session.get(context.SESSION_KEY))
            if sign_in is not None and sign_in.user_id != request.user.pk:
                sign_in = None
            request.user.sign_in = sign_in
        request.sign_in = sign_in
        token = context.activate(sign_in)
        try:
            return self.get_response(request)
        finally:
            context.deactivate(token)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's "every view needs a login", and for a form posted after the session ended (the person
    came back after the idle timeout and pressed the button): keep what they typed for them (only for
    the person that session was signed in as, accounts.typed_work) and send them to sign in with the
    page the form was on as ?next=, where they find it back. CSRF is checked before this runs."""

    def handle_no_permission(self, request, view_func):
        if request.method == "POST":
            page = (
                typed_work.local_page(request, request.headers.get("HX-Current-URL") or request.headers.get("Referer"))
                or request.get_full_path()
            )
            user = typed_work.ended_session_user(request)
            if user is not None:
                typed_work.keep_post(request, user, page)
            return redirect_to_login(page, self.get_login_url(view_func), self.get_redirect_field_name(view_func))
        return super().handle_no_permission(request, view_func)
