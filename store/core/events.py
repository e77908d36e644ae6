"""In-process domain events: a lower app announces a fact, a higher app reacts, and no import runs upward.

``publish`` delivers after the surrounding transaction commits (immediately when there is none), so a
subscriber never acts on a change that was rolled back. These events are for keeping derived state fresh (caches,
denormalised flags); side effects that must not be lost go through the outbox (orders issue), not here.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)
_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(event: str, handler: Callable[..., None]) -> None:
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def publish(event: str, **payload) -> None:
    def deliver() -> None:
        for handler in list(_subscribers.get(event, ())):
            try:
                handler(**payload)
            except Exception:  # one failing subscriber must not break the writer or the others
                logger.exception("subscriber %r failed for %s", handler, event)

    transaction.on_commit(deliver)
