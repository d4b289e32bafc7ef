"""The client's address, for throttling sign-in per source address behind reverse proxies."""

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N proxies in front, the address the outermost of them saw
    (the Nth from the right in X-Forwarded-For). Addresses further left are the client's claim and ignored."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
