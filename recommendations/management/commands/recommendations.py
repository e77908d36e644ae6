"""manage.py recommendations rebuild | evaluate [--holdout F]: retrain the recommender, or measure it offline."""

from django.core.management.base import BaseCommand, CommandError

from recommendations import services


class Command(BaseCommand):
    help = ("rebuild: every count and list from the learned orders and the catalogue. evaluate: hold out the most "
            "recent orders, train on the rest, print hit-rate@10, recall@10 and coverage per model.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["rebuild", "evaluate"])
        parser.add_argument("--holdout", type=float, default=0.1, help="share of the most recent orders held out")

    def handle(self, *args, action, holdout, **options):
        if action == "rebuild":
            report = services.recommendations_rebuild()
            self.stdout.write(f"rebuilt from {report.purchases} orders: {report.products} products, {report.pairs} "
                              f"pairs, {report.lists} lists, {report.changed_pages} product pages changed "
                              f"in {report.seconds:.2f} s")
            return
        if not 0 < holdout < 1:
            raise CommandError("--holdout must be between 0 and 1")
        measures = services.recommendations_evaluate(holdout=holdout)
        for measure in measures:
            self.stdout.write(measure.line())
