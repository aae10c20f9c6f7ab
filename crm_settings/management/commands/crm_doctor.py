from django.core.management.base import BaseCommand, CommandError

from crm_settings.doctor import CheckReport, connection_check
from crm_settings.selectors import crm_connection_get
from seats.models import Contract


class Command(BaseCommand):
    help = (
        "Check a contract's Dynamics connection: sign-in, each table the import reads, change "
        "tracking, metadata, the LinkedIn solution, the privileges each feature needs and "
        "impersonation. Read-only (only GET requests). Prints pass/fail with the next step for "
        "each failure; exits non-zero when a check fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("contract", help="the contract's id or its exact name")

    def handle(self, *args, contract: str, **options):
        found = _contract(contract)
        connection = crm_connection_get(contract=found)
        if connection is None:
            raise CommandError(
                f"Contract {found.pk} ({found.name}) is not connected to CRM: an admin selects "
                "Connect to CRM under Admin Settings > CRM Settings first."
            )
        report = connection_check(connection=connection)
        self._print(found, report)
        if not report.ok:
            raise CommandError(f"{len(report.failures)} of {len(report.checks)} checks failed.")
        self.stdout.write(self.style.SUCCESS(f"All {len(report.checks)} checks passed."))

    def _print(self, contract: Contract, report: CheckReport) -> None:
        self.stdout.write(f"Contract {contract.pk} ({contract.name}): {report.environment_url}")
        for check in report.checks:
            mark = self.style.SUCCESS("PASS") if check.ok else self.style.ERROR("FAIL")
            self.stdout.write(
                f"{mark}  {check.name}" + (f": {check.detail}" if check.ok and check.detail else "")
            )
            if not check.ok:
                if check.message:
                    self.stdout.write(f"      {check.message}")
                if check.next_step:
                    self.stdout.write(f"      Next step: {check.next_step}")
                if check.detail:
                    self.stdout.write(f"      Details: {check.detail}")


def _contract(value: str) -> Contract:
    value = value.strip()
    if value.isdigit():
        found = Contract.objects.filter(pk=int(value)).first()
        if found is not None:
            return found
    matches = list(Contract.objects.filter(name__iexact=value).order_by("pk")[:5])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CommandError(f"No contract has the id or name {value!r}.")
    ids = ", ".join(str(match.pk) for match in matches)
    raise CommandError(f"Several contracts are named {value!r} (ids {ids}): give the id.")
