"""Settings of the bare project: nothing but what Django needs to answer one view through CommonMiddleware."""

SECRET_KEY = "bench-bare-project-not-secret"  # signs nothing: no sessions, no CSRF, no messages
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"

DATABASES: dict = {}
TEMPLATES: list = []
USE_I18N = False
USE_TZ = True
