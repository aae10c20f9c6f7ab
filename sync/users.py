"""CRM system users, and which seat maps to which of them.

Seat holders are matched to Dynamics users by email: the user's primary email
(``internalemailaddress``) or their sign-in name (``domainname``), case-insensitively. A seat
with no usable match is *Not Matched*, with the reason an admin needs to fix it (seed research:
"Seats that will not sync because of email mismatch").
"""

from django.db import transaction
from django.utils.dateparse import parse_datetime

from dynamics import DynamicsClient
from seats.models import SEAT_ROLES, Contract, Seat
from sync.models import CrmUser, SeatCrmUser

USER_COLUMNS = [
    "systemuserid",
    "fullname",
    "internalemailaddress",
    "domainname",
    "azureactivedirectoryobjectid",
    "isdisabled",
    "applicationid",
    "modifiedon",
]
_USER_FIELDS = [
    "full_name",
    "email",
    "domain_name",
    "azure_object_id",
    "is_disabled",
    "is_application_user",
    "modified_on",
]


def crm_user_from_row(*, contract: Contract, row: dict) -> CrmUser:
    """A CrmUser (unsaved) from a ``systemusers`` row; raises ValueError on a row without id."""
    crm_id = row.get("systemuserid")
    if not crm_id:
        raise ValueError("system user without systemuserid")
    return CrmUser(
        contract=contract,
        crm_id=crm_id,
        full_name=(row.get("fullname") or "")[:200],
        email=(row.get("internalemailaddress") or "").strip().lower()[:254],
        domain_name=(row.get("domainname") or "").strip().lower()[:254],
        azure_object_id=row.get("azureactivedirectoryobjectid") or None,
        is_disabled=bool(row.get("isdisabled")),
        is_application_user=bool(row.get("applicationid")),
        modified_on=parse_datetime(row["modifiedon"]) if row.get("modifiedon") else None,
    )


def crm_users_save(*, users: list[CrmUser]) -> None:
    """Insert or update mirror rows in bulk, keyed by (contract, crm_id)."""
    CrmUser.objects.bulk_create(
        users,
        update_conflicts=True,
        unique_fields=["contract", "crm_id"],
        update_fields=_USER_FIELDS,
        batch_size=1000,
    )


@transaction.atomic
def crm_users_refresh(*, contract: Contract, client: DynamicsClient) -> int:
    """Re-read every system user from the CRM (users who are gone are removed); then re-map seats.

    Used by *Assign seats from CRM* ("refreshable") outside of a full import. Returns the count.
    """
    users = [
        crm_user_from_row(contract=contract, row=row)
        for row in client.iter_rows("systemusers", select=USER_COLUMNS)
    ]
    crm_users_save(users=users)
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
