"""WSGI entry point for production servers (gunicorn). DEBUG is off unless the environment says otherwise."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")

application = get_wsgi_application()


def warm_up() -> None:
    """Do now, while the web worker boots, what Django otherwise does on a process's first requests: import the
    URLconf (every view, serializer and form), build the table reverse() reads, hash the code into the release id
    that keys cached pages, and compile the shop's templates. About 0.4 s on 2 cores, which would otherwise land on
    the first shoppers to reach each new worker after a deploy or a restart: at a sale's opening second, the crowd
    waits behind it."""
    import logging
    from pathlib import Path

    from django.conf import settings
    from django.template.loader import get_template
    from django.urls import resolve, reverse

    from store.core.cache import release

    resolve("/")
    reverse("api:product-list")
    release()
    for folder in settings.TEMPLATES[0]["DIRS"]:
        for template in sorted(Path(folder).rglob("*.html")):
            try:
                get_template(str(template.relative_to(folder)))
            except Exception:  # a page that cannot compile fails where it is asked for, as it would without this
                logging.getLogger(__name__).exception("template %s does not compile", template)


warm_up()
