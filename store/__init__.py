"""The store project: settings, URLs, the Celery app and the embedded development services."""

from .celery import app as celery_app

__all__ = ("celery_app",)
