from django.core.management.base import BaseCommand

from sync.models import SyncRun
from sync.tasks import sync_run_here


class Command(BaseCommand):
    help = (
        "Run an import for a contract now, in this process (no task queue): the same task the "
        "schedule runs, without waiting for a worker slot. Merges into a running import, or "
        "resumes one whose worker died."
    )

    def add_arguments(self, parser):
        parser.add_argument("contract", type=int, help="The contract's id.")
        parser.add_argument(
            "--trigger", choices=SyncRun.Trigger.values, default=SyncRun.Trigger.MANUAL
        )
        parser.add_argument("--full", action="store_true", help="Read every row again.")

    def handle(self, *args, contract: int, trigger: str, full: bool, **options):
        self.stdout.write(sync_run_here(contract, trigger, full))
