from django.core.management.base import BaseCommand

from writeback.outbox import CLAIM_BATCH, outbox_due_contract_ids
from writeback.tasks import drain_outbox_here


class Command(BaseCommand):
    help = (
        "Deliver due writeback items to the CRM now, in this process: for the given contracts, "
        "or every connected contract with due items. What the scheduled drain does, without "
        "waiting for a worker or its slot."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contract", type=int, action="append", help="contract id (repeat)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=CLAIM_BATCH,
            help=f"items per claim and $batch (default {CLAIM_BATCH})",
        )

    def handle(self, *args, contract, batch_size, **options):
        for contract_id in contract or outbox_due_contract_ids():
            taken = drain_outbox_here(contract_id, batch_size=batch_size)
            self.stdout.write(f"Contract {contract_id}: {taken} item(s) taken.")
