"""manage.py release_expired_reservations: the expiry compensation, now (beat runs it every minute)."""

from django.core.management.base import BaseCommand

from inventory import services


class Command(BaseCommand):
    help = "Release every active reservation past its expiry and announce reservation.expired for each."

    def handle(self, *args, **options):
        references = services.reservations_release_expired()
        while batch := services.reservations_release_expired():  # more than one batch was due
            references.extend(batch)
        self.stdout.write(f"released {len(references)} expired reservation(s)"
                          + (f": {', '.join(references[:20])}" + (" …" if len(references) > 20 else "")
                             if references else ""))
