"""Racing real threads: each with its own database connection, all released at once by a barrier (no sleeps)."""

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def race(n, work):
    """Run work(i) for i in range(n) in n threads released together; returns each result, or the exception it
    raised (the outcome under test)."""
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
