from django.core.management.base import BaseCommand

from portal.demo import DEMO_PASSWORD, demo_logins, demo_seed


class Command(BaseCommand):
    help = "Create the demo contracts, people and seats (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not list the logins.")

    def handle(self, *args, **options):
        created = demo_seed()
        if created:
            self.stdout.write(f"Demo: created {len(created)} items.")
        else:
            self.stdout.write("Demo: already in place, nothing changed.")
        if not options["quiet_logins"]:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for email, what in demo_logins():
                self.stdout.write(f"  {email:<32} {what}")
