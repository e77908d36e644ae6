"""Every template of the shop compiles: a web worker compiles them all as it boots (store.wsgi.warm_up), so one
that cannot would otherwise be found by the first shopper to reach its page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import get_template

TEMPLATES = sorted(str(path.relative_to(folder)) for folder in settings.TEMPLATES[0]["DIRS"]
                   for path in Path(folder).rglob("*.html"))


def test_there_are_templates_to_compile():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_template_compiles(name):
    get_template(name)
