from . import context


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
