"""A port on which nothing answers, held by this process for the whole run: bound and never listened on, so a
connection to it is refused at once, and no other program can start listening there meanwhile (a fixed number,
such as port 1, only assumes that nothing does)."""

import socket

_held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_held.bind(("127.0.0.1", 0))  # the OS picks a free port; keeping the socket keeps it ours
REFUSED_PORT = _held.getsockname()[1]


def dead_redis_caches(timeout: float = 0.2, **options) -> dict:
    """CACHES pointing the shop's Redis servers (the kept one and the evictable cache) at the refused port: what a
    Redis outage looks like to the shop."""
    from django.conf import settings

    dead = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{REFUSED_PORT}/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": timeout, "SOCKET_TIMEOUT": timeout, **options},
    }
    return {"default": dead, settings.CACHE_ALIAS: dead}
