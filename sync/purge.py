"""Removing everything the import brought in for a contract.

Used by *Disconnect CRM Sync* with *Yes, clean up all previously imported CRM data*: mirrors,
imported saves and the seat-to-CRM-user mapping (the *In CRM* marks) go; what seat holders saved
by hand stays, merely losing its "from CRM" mark. Sync history is kept as a record of what ran.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from network.models import SavedAccount, SavedLead
from seats.models import Contract
from sync.models import (
    CrmAccount,
    CrmContact,
    CrmOpportunity,
    CrmUser,
    SeatCrmUser,
    SyncCursor,
    SyncRun,
)


def _imported(model, contract: Contract) -> QuerySet:
    return model.objects.filter(seat__contract=contract, from_crm=True)


def imported_data_counts(*, contract: Contract) -> dict[str, int]:
    """What the clean-up would delete, per kind, for the confirmation page."""
    return {
        "saved accounts imported from CRM": _imported(SavedAccount, contract)
        .filter(saved_by_hand=False)
        .count(),
        "saved leads imported from CRM": _imported(SavedLead, contract)
        .filter(saved_by_hand=False)
        .count(),
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
    for model in (SavedAccount, SavedLead):
        _imported(model, contract).filter(saved_by_hand=False).delete()
        _imported(model, contract).update(from_crm=False, crm_record_id=None, imported_at=None)
    SeatCrmUser.objects.filter(seat__contract=contract).delete()
    for model in (CrmOpportunity, CrmContact, CrmAccount, CrmUser, SyncCursor):
        model.objects.filter(contract=contract).delete()
    return counts
