"""manage.py reviews recount: recompute every product's rating from its published reviews, print and fix any
difference (exit 1 if there was one, so a scheduler or a test notices)."""

from django.core.management.base import BaseCommand, CommandError

from reviews import services


class Command(BaseCommand):
    help = "Reviews: recount (recompute every product's rating and report any difference)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        recount = sub.add_parser("recount", help="recompute every product's rating; exit 1 if any differed")
        recount.add_argument("--dry-run", action="store_true", help="report only, change nothing")

    def handle(self, *args, action, **options):
        differences = services.ratings_recount(fix=not options["dry_run"])
        for slug, stored, counted in differences:
            self.stdout.write(f"{slug}: stored count={stored.count} sum={stored.rating_sum} "
                              f"distribution={list(stored.distribution.values())}; recounted count={counted.count} "
                              f"sum={counted.rating_sum} distribution={list(counted.distribution.values())}")
        if differences:
            verb = "would be corrected" if options["dry_run"] else "corrected"
            raise CommandError(f"{len(differences)} product rating(s) differed from a recount ({verb}).")
        self.stdout.write("every product rating equals a recount of its published reviews")
