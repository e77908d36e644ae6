"""The Celery queues, named by job, and how CELERY_QUEUES groups them into worker processes.

settings.CELERY_TASK_ROUTES and settings.OUTBOX_TOPIC_QUEUES send every task to one of QUEUES; the launcher starts
one worker per group that ``worker_groups`` returns; deploy/systemd/ runs a worker per queue. Plain Python: the
launcher reads it before Django is configured.
"""

from __future__ import annotations

CHECKOUT = "checkout"  # queued checkouts of a flash sale, in arrival order
OUTBOX = "outbox"  # the outbox's events that change state (payments, compensation), its sweep, expired reservations
EMAIL = "email"  # the outbox's events whose work is e-mailing the shopper (SMTP is the slow part)
SEARCH_INDEX = "search-index"  # the outbox's catalogue changes, indexed in Elasticsearch
RECOMMENDATIONS = "recommendations"  # the nightly rebuild of every recommendation

QUEUES = (CHECKOUT, OUTBOX, EMAIL, SEARCH_INDEX, RECOMMENDATIONS)

ALL = "all"  # CELERY_QUEUES' default: one worker consuming every queue
EACH = "each"  # one worker per queue


class QueueSpecError(ValueError):
    pass


def worker_groups(spec: str | None) -> list[tuple[str, ...]]:
    """The queues of each worker to start from CELERY_QUEUES: ``all`` (or unset) one worker on every queue,
    ``each`` a worker per queue, or groups separated by ``;`` of queues separated by ``,``
    (``checkout;email,outbox`` runs two workers and leaves the other queues to another machine)."""
    spec = (spec or "").strip()
    if spec in ("", ALL):
        return [QUEUES]
    if spec == EACH:
        return [(queue,) for queue in QUEUES]
    groups: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for part in spec.split(";"):
        group = tuple(name.strip() for name in part.split(",") if name.strip())
        if not group:
            continue
        for name in group:
            if name not in QUEUES:
                raise QueueSpecError(f"CELERY_QUEUES names an unknown queue {name!r}; the queues are "
                                     f"{', '.join(QUEUES)} (or 'all', 'each')")
            if name in seen:
                raise QueueSpecError(f"CELERY_QUEUES names the queue {name!r} twice")
            seen.add(name)
        groups.append(group)
    if not groups:
        raise QueueSpecError("CELERY_QUEUES names no queue")
    return groups
