"""Removing everything the import brought in for a contract.

Used by *Disconnect CRM Sync* with *Yes, clean up all previously imported CRM data*: mirrors,
imported saves and the seat-to-CRM-user mapping (the *In CRM* marks) go; what seat holders saved
by hand stays, merely losing its "from CRM" mark. Sync history is kept as a record of what ran.
"""

from django.db import transaction
from django.utils import timezone

from network.imported import seats_imported_saves_count, seats_imported_saves_remove
from seats.models import Contract, Seat
from sync.evaluate import saves_forget
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    CrmUser,
    SeatCrmUser,
    SyncCursor,
    SyncRun,
)


def imported_data_counts(*, contract: Contract) -> dict[str, int]:
    """What the clean-up would delete, per kind, for the confirmation page."""
    saves = seats_imported_saves_count(seats=Seat.objects.filter(contract=contract))
    return {
        "saved accounts imported from CRM": saves["accounts"],
        "saved leads imported from CRM": saves["leads"],
        "CRM accounts": CrmAccount.objects.filter(contract=contract).count(),
        "CRM contacts": CrmContact.objects.filter(contract=contract).count(),
        "CRM opportunities": CrmOpportunity.objects.filter(contract=contract).count(),
        "CRM users": CrmUser.objects.filter(contract=contract).count(),
        "In CRM seat marks": SeatCrmUser.objects.filter(seat__contract=contract).count(),
    }


@transaction.atomic
def imported_data_purge(*, contract: Contract) -> dict[str, int]:
    """Delete every imported row of the contract in one transaction; returns the counts.

    A run in progress is stopped first: its next page checkpoint finds the run no longer
    running and gives up (``sync.runs``), so it cannot write rows back after the clean-up.
    """
    SyncRun.objects.filter(contract=contract, state__in=SyncRun.ACTIVE_STATES).update(
        state=SyncRun.State.FAILED,
        finished_at=timezone.now(),
        error_detail="Stopped: the imported CRM data was cleaned up.",
    )
    counts = imported_data_counts(contract=contract)
    seats_imported_saves_remove(seats=Seat.objects.filter(contract=contract))
    SeatCrmUser.objects.filter(seat__contract=contract).delete()
    for model in (CrmOpportunity, CrmContact, CrmAccount, CrmCurrency, CrmUser, SyncCursor):
        model.objects.filter(contract=contract).delete()
    saves_forget(contract=contract)
    return counts
