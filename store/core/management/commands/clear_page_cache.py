"""manage.py clear_page_cache: every cached page is rebuilt when next asked (after a template or code change made
without a restart, or to be sure a shopper sees the latest)."""

from django.core.management.base import BaseCommand

from store.core import pagecache
from store.core.cache import entries_cache


class Command(BaseCommand):
    help = "Make every cached page stale, in Redis and in every web process's memory, and free their memory."

    def handle(self, *args, **options):
        pagecache.clear()  # exact: the web processes' own copies are dropped through Redis's invalidations
        freed = entries_cache().delete_pattern("*:page:b:*")  # the stale entries' memory, at once
        self.stdout.write(f"cleared the page cache ({freed} cached pages removed)")
