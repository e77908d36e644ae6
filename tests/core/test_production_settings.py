"""Production settings, as `make serve` would load them (a fresh interpreter per configuration): Django's deployment
checklist passes with no warning under HTTPS, nothing starts without SECRET_KEY, media are not served by Django
unless asked, and EMAIL_URL configures real SMTP."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "shop.example"}
SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: str(getattr(s, name, None)) for name in (
    "DEBUG", "SERVE_MEDIA", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_HOST_USER",
    "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE")}))
"""


def run(args, **env):
    # (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE is theirs, not a deployment's)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DEBUG", "SECRET_KEY", "HTTPS", "EMAIL_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    environment.update(DJANGO_SETTINGS_MODULE="store.settings", **env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def settings_with(**env) -> dict:
    done = run(["-c", SHOW], **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_deployment_checklist_passes_with_no_warning_under_https():
    done = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], HTTPS="1",
               PROXY_SSL_HEADER="X-Forwarded-Proto", **PRODUCTION)
    assert done.returncode == 0 and "WARNING" not in done.stderr.upper(), done.stderr[-3000:]
    assert "no issues" in done.stdout


def test_without_a_secret_key_nothing_starts_and_manage_py_never_uses_the_development_key():
    done = run(["manage.py", "check"], DEBUG="0")
    assert done.returncode != 0 and "SECRET_KEY must be set" in done.stderr
    pointed_at_a_database = run(["manage.py", "check"])  # DATABASE_URL is set here: no development defaults
    assert pointed_at_a_database.returncode != 0 and "SECRET_KEY must be set" in pointed_at_a_database.stderr


def test_production_serves_no_media_unless_asked_and_trusts_no_proxy_header_unless_told():
    shown = settings_with(HTTPS="1", **PRODUCTION)
    assert shown["SERVE_MEDIA"] == "False" and shown["SECURE_PROXY_SSL_HEADER"] == "None"
    assert shown["SESSION_COOKIE_SECURE"] == "True" and int(shown["SECURE_HSTS_SECONDS"]) >= 31536000
    assert settings_with(SERVE_MEDIA="1", **PRODUCTION)["SERVE_MEDIA"] == "True"
    assert settings_with(DEBUG="1")["SERVE_MEDIA"] == "True"  # development serves them


def test_email_url_configures_smtp_and_files_stay_the_default():
    smtp = settings_with(EMAIL_URL="smtp://shop%40example.com:app-password@mail.example.com:587/?tls=True",
                         **PRODUCTION)
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == ("mail.example.com", "587", "True")
    assert smtp["EMAIL_HOST_USER"] == "shop@example.com"
    assert settings_with(**PRODUCTION)["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
