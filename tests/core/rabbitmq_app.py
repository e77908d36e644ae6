"""A Celery app of tests/core/test_rabbitmq.py's own, on RabbitMQ: the store's settings give every test process a
Redis broker of the suite's own (settings.TESTING), so this app is configured here instead, with the store's
delivery settings and a queue named for one run, so that no other worker on the shared broker takes its task."""

import os
from pathlib import Path

from celery import Celery
from kombu import Queue

RABBITMQ_URL = os.environ.get("RABBITMQ_TEST_URL", "amqp://guest:guest@127.0.0.1:5672//")


def make_app(queue: str) -> Celery:
    app = Celery("store-rabbitmq-test", broker=RABBITMQ_URL, backend="rpc://", set_as_current=False)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,  # as store/settings.py
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(queue, auto_delete=True)],  # gone with its worker: nothing left on the shared broker
        task_routes={"store_test.write_file": {"queue": queue}},
    )

    @app.task(name="store_test.write_file", shared=False)  # not added to every app, the store's too
    def write_file(path: str, text: str) -> int:
        return Path(path).write_text(text)

    return app


# what `celery -A tests.core.rabbitmq_app worker` loads: the queue comes from the test that starts it
app = make_app(os.environ.get("RABBITMQ_TEST_QUEUE", "store-test-unused"))
