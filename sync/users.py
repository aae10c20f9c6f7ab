"""CRM system users, and which seat maps to which of them.

Seat holders are matched to Dynamics users by email: the user's primary email
(``internalemailaddress``) or their sign-in name (``domainname``), case-insensitively. A seat
with no usable match is *Not Matched*, with the reason an admin needs to fix it (seed research:
"Seats that will not sync because of email mismatch").
"""

from django.db import transaction

from dynamics import DynamicsClient
from seats.models import SEAT_ROLES, Contract, Seat
from sync.mirror import USERS, ReadContext
from sync.models import CrmUser, SeatCrmUser


@transaction.atomic
def crm_users_refresh(*, contract: Contract, client: DynamicsClient) -> int:
    """Re-read every system user from the CRM (users who are gone are removed); then re-map seats.

    Used by *Assign seats from CRM* ("refreshable") outside of a full import. Returns the count.
    """
    context = ReadContext(contract_id=contract.pk)
    users = [
        CrmUser(
            contract=contract,
            crm_id=converted.crm_id,
            **dict(zip(USERS.fields, values, strict=True)),
        )
        for row in client.iter_rows(USERS.entity_set, select=list(USERS.columns))
        if (values := (converted := USERS.convert(row, context)).values) is not None
    ]
    CrmUser.objects.bulk_create(
        users,
        update_conflicts=True,
        unique_fields=["contract", "crm_id"],
        update_fields=list(USERS.fields),
        batch_size=1000,
    )
    CrmUser.objects.filter(contract=contract).exclude(crm_id__in=[u.crm_id for u in users]).delete()
    seat_mappings_refresh(contract=contract)
    return len(users)


def seat_mappings_refresh(*, contract: Contract, seats=None) -> None:
    """Map each seat (of ``seats``, default all of the contract's) to a CRM user by email.

    A fixed number of queries whatever the number of seats.
    """
    if seats is None:
        seats = Seat.objects.filter(contract=contract, role__in=SEAT_ROLES).select_related("user")
    by_email: dict[str, CrmUser] = {}
    for user in CrmUser.objects.filter(contract=contract, is_application_user=False):
        for key in (user.domain_name, user.email):
            # An enabled user wins over a disabled one with the same address.
            if key and (key not in by_email or by_email[key].is_disabled):
                by_email[key] = user
    links = []
    for seat in seats:
        email = seat.user.email.lower()
        user = by_email.get(email)
        if user is None:
            links.append(
                SeatCrmUser(seat=seat, crm_user=None, reason=f"No CRM user has the email {email}.")
            )
        elif user.is_disabled:
            links.append(
                SeatCrmUser(
                    seat=seat,
                    crm_user=None,
                    reason=f"The CRM user {user.full_name} ({email}) is disabled in Dynamics.",
                )
            )
        else:
            links.append(SeatCrmUser(seat=seat, crm_user=user, reason=""))
    SeatCrmUser.objects.bulk_create(
        links,
        update_conflicts=True,
        unique_fields=["seat"],
        update_fields=["crm_user", "reason", "matched_at"],
        batch_size=1000,
    )
