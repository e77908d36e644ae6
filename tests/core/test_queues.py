"""Celery queues named by job: every task has a route, every queue a route names is consumed by the launcher's
default worker, CELERY_QUEUES splits them into workers, and an outbox event is queued by its topic."""

import pytest
from celery.app.routes import MapRoute
from django.conf import settings
from django.db import transaction

from store import launcher, queues
from store.celery import app
from store.core import outbox


def _our_tasks() -> set[str]:
    app.loader.import_default_modules()  # every app's tasks.py, as a worker imports them
    return {name for name in app.tasks if not name.startswith("celery.")}


def _consumed(command: list[str]) -> set[str]:
    return set(command[command.index("--queues") + 1].split(","))


def test_every_task_has_a_route_to_a_named_queue():
    tasks = _our_tasks()
    assert {"orders.tasks.checkout_process", "store.core.tasks.outbox_deliver",
            "recommendations.tasks.recommendations_rebuild"} <= tasks  # discovery found the apps' tasks
    route = MapRoute(settings.CELERY_TASK_ROUTES)  # how Celery reads the setting (names and globs)
    unrouted = {name for name in tasks if route(name) is None}
    assert not unrouted, f"tasks without a route in CELERY_TASK_ROUTES: {sorted(unrouted)}"
    assert {rule["queue"] for rule in settings.CELERY_TASK_ROUTES.values()} <= set(queues.QUEUES)
    assert set(settings.OUTBOX_TOPIC_QUEUES.values()) <= set(queues.QUEUES)
    stale = {name for name in settings.CELERY_TASK_ROUTES if "*" not in name} - tasks
    assert not stale, f"routes for tasks that do not exist: {sorted(stale)}"
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert route(entry["task"]) is not None


def test_the_default_worker_consumes_every_queue_a_task_can_be_sent_to():
    routed = {settings.CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in settings.CELERY_TASK_ROUTES.values()),
              *settings.OUTBOX_TOPIC_QUEUES.values()}
    (group, command), = launcher.worker_commands({})  # CELERY_QUEUES unset: one worker
    assert routed <= _consumed(command) == set(group) == set(queues.QUEUES)
    assert command[:5] == launcher.CELERY and command[5] == "worker"


def test_celery_queues_runs_a_worker_per_queue_or_per_group():
    each = launcher.worker_commands({"CELERY_QUEUES": "each"})
    assert [_consumed(command) for _, command in each] == [{queue} for queue in queues.QUEUES]
    hostnames = [command[command.index("--hostname") + 1] for _, command in each]
    assert len(set(hostnames)) == len(each)  # side by side on one host
    grouped = launcher.worker_commands({"CELERY_QUEUES": "checkout; email,outbox ;"})
    assert [_consumed(command) for _, command in grouped] == [{"checkout"}, {"email", "outbox"}]


@pytest.mark.parametrize("spec", ["checkout,emails", "checkout;checkout", " ; "])
def test_a_wrong_celery_queues_stops_the_launcher_with_the_reason(spec):
    with pytest.raises(SystemExit, match="CELERY_QUEUES"):
        launcher.worker_commands({"CELERY_QUEUES": spec})


def _waiting(queue: str) -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue).message_count


@pytest.mark.django_db(transaction=True)
def test_an_outbox_event_is_queued_on_its_topics_queue():
    assert outbox.queue_of("order.shipped") == queues.EMAIL
    assert outbox.queue_of("catalog.products_changed") == queues.SEARCH_INDEX
    assert outbox.queue_of("reservation.expired") == queues.OUTBOX  # compensation stays with the outbox
    before = {queue: _waiting(queue) for queue in queues.QUEUES}
    with transaction.atomic():
        outbox.publish("order.shipped", {"number": "none"})
        outbox.publish("catalog.products_changed", {"ids": []})
        outbox.publish("test.unrouted", {})
    after = {queue: _waiting(queue) for queue in queues.QUEUES}
    assert {queue: after[queue] - before[queue] for queue in queues.QUEUES} == {
        queues.CHECKOUT: 0, queues.OUTBOX: 1, queues.EMAIL: 1, queues.SEARCH_INDEX: 1, queues.RECOMMENDATIONS: 0}
