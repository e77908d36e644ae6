"""WSGI entry point of the bare project (gunicorn bench.bare.wsgi). Its settings are always its own: the
environment the harness inherits names the store's."""

import os

from django.core.wsgi import get_wsgi_application

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"

application = get_wsgi_application()
