from django.core.management.base import BaseCommand, CommandError

from crm_settings.services import REENCRYPT_BATCH, connection_tokens_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored CRM sign-in with the newest key of PORTAL_ENCRYPTION_KEY (the "
        "first in the list). Safe to run again and while the portal runs. Once a run reports "
        "nothing saved meanwhile, the older keys can be dropped from the list."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=REENCRYPT_BATCH,
            help=f"connections read at a time (default {REENCRYPT_BATCH})",
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = connection_tokens_reencrypt(batch_size=batch_size)
        self.stdout.write(
            f"Re-encrypted {result.reencrypted} CRM sign-in(s) with the newest key; "
            f"{result.current} already used it."
        )
        if result.changed:
            self.stdout.write(
                self.style.WARNING(
                    f"{result.changed} CRM sign-in(s) were saved by a token refresh while this "
                    "ran and were left as saved; run the command again to check them."
                )
            )
        if result.unreadable:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.unreadable)} CRM sign-in(s) cannot be read with any key in "
                    "PORTAL_ENCRYPTION_KEY. These contracts must connect to CRM again "
                    "(Admin Settings > CRM Settings):"
                )
            )
            for contract_id, name in result.unreadable:
                self.stdout.write(f"  contract {contract_id}: {name}")
