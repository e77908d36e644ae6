"""The outbox: an event exists only if its transaction committed, and is delivered once even when retried."""

import pytest
from django.db import transaction

from store.core import outbox
from store.core.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    seen = []

    def handler(payload):
        if payload.get("fail"):
            raise RuntimeError("subscriber down")
        seen.append(payload)

    outbox.subscribe("test.event", handler)
    yield seen
    outbox._subscribers["test.event"].remove(handler)


def test_a_rolled_back_change_leaves_no_event(received):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox.publish("test.event", {"n": 1})
        1 / 0  # noqa: B018 (the change fails after publishing)
    assert not OutboxMessage.objects.exists()


def test_a_committed_event_is_delivered_once(received):
    with transaction.atomic():
        message_id = outbox.publish("test.event", {"n": 1})
    assert outbox.deliver(message_id) is True
    assert outbox.deliver(message_id) is True  # a redelivery finds the mark
    assert outbox.relay_pending() == 0
    assert received == [{"n": 1}]


def test_a_failing_subscriber_is_retried_with_backoff_and_nothing_is_lost(received):
    message_id = outbox.publish("test.event", {"fail": True})
    assert outbox.deliver(message_id) is False
    message = OutboxMessage.objects.get(pk=message_id)
    assert message.delivered_at is None and message.attempts == 1 and "subscriber down" in message.last_error
    assert message.next_attempt_at > message.created_at
    assert outbox.pending_ids() == []  # not due yet: it waits for its backoff


def test_the_sweep_delivers_what_the_broker_never_carried(received):
    ids = [outbox.publish("test.event", {"n": n}) for n in range(3)]
    OutboxMessage.objects.filter(pk__in=ids).update(next_attempt_at=OutboxMessage.objects.get(pk=ids[0]).created_at)
    assert outbox.relay_pending() == 3
    assert sorted(p["n"] for p in received) == [0, 1, 2]
