from django.core.management.base import BaseCommand

from portal.schedules import install_schedules


class Command(BaseCommand):
    help = "Install or update the recurring background jobs declared in code (safe to re-run)."

    def handle(self, *args, **options):
        counts = install_schedules()
        self.stdout.write(
            "Schedules: {created} created, {updated} updated, {removed} removed.".format(**counts)
        )
