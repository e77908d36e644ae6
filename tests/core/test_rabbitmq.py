"""RabbitMQ as the broker (CELERY_BROKER_URL=amqp://…): a task goes through the RabbitMQ this machine runs to a real
Celery worker, and the store's own settings and app take an amqp:// URL. Skipped when nothing listens on its port."""

import json
import os
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import pytest

from store.embedded import ROOT

from .rabbitmq_app import RABBITMQ_URL, make_app


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=2):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _listening(RABBITMQ_URL),
                                reason=f"no RabbitMQ listening at {urlsplit(RABBITMQ_URL).netloc} (RABBITMQ_TEST_URL)")


def test_a_task_sent_through_rabbitmq_is_run_by_a_real_worker(tmp_path):
    queue = f"store-test-{uuid.uuid4().hex}"
    log = tmp_path / "worker.log"
    env = dict(os.environ, RABBITMQ_TEST_QUEUE=queue)
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.core.rabbitmq_app", "worker", "--pool", "solo",
             "--queues", queue, "--hostname", f"{queue}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    app = make_app(queue)
    target = tmp_path / "written"
    try:
        result = app.send_task("store_test.write_file", args=[str(target), "through RabbitMQ"])
        try:
            written = result.get(timeout=120)  # a bound for a stuck run, not a figure under test
        except Exception:
            pytest.fail(f"the worker did not answer (exit code {worker.poll()}):\n{log.read_text()}")
        assert written == len("through RabbitMQ")
        assert target.read_text() == "through RabbitMQ"
    finally:
        worker.terminate()
        worker.wait(30)
        app.close()


def test_the_stores_settings_and_celery_app_take_an_amqp_broker():
    """Outside the tests (no PYTEST_VERSION) CELERY_BROKER_URL is used as given, and the store's Celery app opens a
    connection to it with the amqp transport."""
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_VERSION"}
    env.update(CELERY_BROKER_URL=RABBITMQ_URL, SECRET_KEY="test-only", DJANGO_SETTINGS_MODULE="store.settings")
    script = ("import json\nfrom django.conf import settings\nfrom store.celery import app\n"
              "with app.connection_for_write() as connection:\n"
              "    connection.ensure_connection(max_retries=3)\n"
              "    print(json.dumps([settings.CELERY_BROKER_URL, connection.transport.driver_type]))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [RABBITMQ_URL, "amqp"]
