"""manage.py reviews recount: recompute every product's rating from its published reviews, print and fix any
difference (exit 1 if there was one, so a scheduler or a test notices). manage.py reviews seed: plausible sample
reviews by the shop's accounts of what they bought (after sample orders exist)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviews import services


class Command(BaseCommand):
    help = "Reviews: recount (recompute every product's rating and report any difference)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        recount = sub.add_parser("recount", help="recompute every product's rating; exit 1 if any differed")
        recount.add_argument("--dry-run", action="store_true", help="report only, change nothing")
        seed = sub.add_parser("seed", help="sample reviews by accounts of products they bought (idempotent)")
        seed.add_argument("--share", type=float, default=0.6, help="share of bought products reviewed (0 to 1)")
        seed.add_argument("--seed", type=int, default=1)
        seed.add_argument("--if-empty", action="store_true",
                          help="do nothing if the shop has any review (make run's first-run seeding)")

    def handle(self, *args, action, **options):
        if action == "seed":
            if not 0 <= options["share"] <= 1:
                raise CommandError("--share must be between 0 and 1.")
            if options["if_empty"] and services.reviews_exist():
                self.stdout.write("the shop has reviews already; nothing to seed")
                return
            users = get_user_model().objects.filter(is_active=True).values_list("pk", flat=True)
            written = services.reviews_seed(user_ids=list(users), share=options["share"], seed=options["seed"])
            self.stdout.write(f"wrote {written} sample reviews")
            return
        differences = services.ratings_recount(fix=not options["dry_run"])
        for slug, stored, counted in differences:
            self.stdout.write(f"{slug}: stored count={stored.count} sum={stored.rating_sum} "
                              f"distribution={list(stored.distribution.values())}; recounted count={counted.count} "
                              f"sum={counted.rating_sum} distribution={list(counted.distribution.values())}")
        if differences:
            verb = "would be corrected" if options["dry_run"] else "corrected"
            raise CommandError(f"{len(differences)} product rating(s) differed from a recount ({verb}).")
        self.stdout.write("every product rating equals a recount of its published reviews")
