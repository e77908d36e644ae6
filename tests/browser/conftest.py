import os

# Playwright's sync API runs an event loop in the test's thread; the ORM calls these tests make there are plain
# synchronous ones, so Django's async-safety guard is told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
