#!/usr/bin/env python
"""Django's command-line utility for the store.

With DATABASE_URL / REDIS_URL unset it leases the embedded PostgreSQL and Redis in .data/ (starting them if no one
else has), and gives the lease back at exit, so commands work beside a running `make run` and on their own.
"""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
    if not os.environ.get("DATABASE_URL"):  # the developer's own embedded database: development settings
        os.environ.setdefault("DEBUG", "1")
    # Pointed at a real database, nothing is assumed: without SECRET_KEY (and DEBUG=1 set on purpose) settings
    # refuse to load, so no production command ever runs with the development key.
    from store.embedded import attach_if_needed

    services = attach_if_needed()
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    finally:
        if services is not None:
            services.release()


if __name__ == "__main__":
    main()
