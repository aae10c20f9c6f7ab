"""Seat Management's CRM half: sync per seat, seats from CRM users, and edits that re-map.

These services own what Seat Management does beyond tenancy: they read the contract's connection
(crm_settings), re-map seats to CRM users (``sync.users``), remove imported saves
(``network.imported``) and start the import. The tenancy rules themselves (seat limit, last admin,
who may be given a seat, audit) stay in ``seats.services``, which these call.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm_settings.connect import connection_clear_error, connection_record_error
from crm_settings.crm import open_client
from crm_settings.messages import CrmProblem
from crm_settings.selectors import crm_connection_get, crm_settings_get
from dynamics import DynamicsError
from network.imported import seats_imported_saves_remove
from seats.models import SEAT_ROLES, Contract, CrmSync, Role, Seat, User
from seats.services import (
    ALREADY_HOLDS_A_SEAT,
    audit_record,
    seat_change_role,
    seat_details_update,
    seat_invitations_enqueue,
    seats_create,
)
from sync.models import CrmUser, SeatCrmUser
from sync.services import sync_enqueue
from sync.users import crm_users_refresh, seat_mappings_refresh

# --- Enable / Disable CRM Sync ------------------------------------------------------------------


@dataclass(frozen=True)
class SyncChange:
    """What *Enable CRM Sync* or *Disable CRM Sync* did to a selection of seats."""

    changed: int
    # Admin only seats in the selection: they have no seat features, so nothing to sync.
    skipped: int = 0
    # Enabled seats that map to no CRM user: they show *Not Matched* instead of *In CRM*.
    not_matched: int = 0
    # Disable only: imported saves deleted, and saves also made by hand that only lost the mark.
    removed: dict = field(default_factory=dict)


def _targets(contract: Contract, seats: QuerySet[Seat]) -> QuerySet[Seat]:
    """The contract's seats among ``seats`` that can sync, as a plain queryset to update."""
    return Seat.objects.filter(
        contract=contract, role__in=SEAT_ROLES, pk__in=seats.order_by().values("pk")
    )


def _set_crm_sync(*, targets: QuerySet[Seat], value: str) -> tuple[int, dict]:
    """Set ``crm_sync`` on the targets; returns how many changed and every target's old value."""
    before = dict(targets.values_list("user__email", "crm_sync"))
    changed = targets.exclude(crm_sync=value).update(crm_sync=value, updated_at=timezone.now())
    return changed, before


def _audit_sync(*, contract: Contract, by: User | None, value: str, before: dict, **after) -> None:
    audit_record(
        contract=contract,
        actor=by,
        action="seat.crm_sync",
        target=next(iter(before)) if len(before) == 1 else f"{len(before)} seats",
        before={"crm_sync": before},
        after={"crm_sync": value, **after},
    )


@transaction.atomic
def seats_sync_enable(*, contract: Contract, seats: QuerySet[Seat], by: User | None) -> SyncChange:
    """*Enable CRM Sync* for the contract's seats in ``seats``, then start an import for them.

    The choice is kept per seat (``CrmSync.ON``), so it outlasts a later change of the contract's
    *Auto sync all seat holders with CRM?* answer.
    """
    targets = _targets(contract, seats)
    changed, before = _set_crm_sync(targets=targets, value=CrmSync.ON)
    if changed:
        _audit_sync(contract=contract, by=by, value=CrmSync.ON, before=before)
        if crm_connection_get(contract=contract) is not None:
            # The import brings their Accounts and Leads in now, not at the next scheduled run.
            sync_enqueue(contract_id=contract.pk, trigger="seats")
    return SyncChange(
        changed=changed,
        skipped=seats.exclude(role__in=SEAT_ROLES).count(),
        not_matched=targets.exclude(crm_link__crm_user__isnull=False).count(),
    )


@transaction.atomic
def seats_sync_disable(*, contract: Contract, seats: QuerySet[Seat], by: User | None) -> SyncChange:
    """*Disable CRM Sync* for the contract's seats in ``seats`` and remove their imported saves.

    Saves the seat holders made by hand stay; those also imported only lose the mark.
    """
    targets = _targets(contract, seats)
    changed, before = _set_crm_sync(targets=targets, value=CrmSync.OFF)
    removed = seats_imported_saves_remove(seats=targets)
    if changed or any(removed.values()):
        _audit_sync(contract=contract, by=by, value=CrmSync.OFF, before=before, removed=removed)
    return SyncChange(
        changed=changed, skipped=seats.exclude(role__in=SEAT_ROLES).count(), removed=removed
    )


# --- Editing a seat -----------------------------------------------------------------------------


@transaction.atomic
def seat_edit(
    *,
    seat: Seat,
    role: str,
    first_name: str,
    last_name: str,
    email: str,
    by: User | None,
    base_url: str,
) -> Seat:
    """Change a seat's role, name and email in one go (all or nothing).

    The role keeps the contract's last admin and seat limit (``seat_change_role``). A new email
    re-runs the seat's CRM-user mapping, which is by email, and re-sends the invitation to the new
    address when the old one was never accepted (its link went to the wrong person).
    """
    old_role = seat.role
    seat_change_role(seat=seat, role=role, by=by)
    changed = seat_details_update(
        seat=seat, first_name=first_name, last_name=last_name, email=email, by=by
    )
    if "email" in changed or old_role != seat.role:
        _seat_mapping_refresh(seat)
    if "email" in changed and not seat.user.has_usable_password():
        seat_invitations_enqueue(contract=seat.contract, seats=[seat], base_url=base_url, by=by)
    return seat


def _seat_mapping_refresh(seat: Seat) -> None:
    """Re-map one seat to a CRM user after its email or role changed."""
    if seat.role in SEAT_ROLES and crm_connection_get(contract=seat.contract) is not None:
        seat_mappings_refresh(contract=seat.contract, seats=[seat])
    else:
        # Admin only seats are not mapped, and without a connection there is nothing to map to
        # until the next import: an old mapping would name the wrong person.
        SeatCrmUser.objects.filter(seat=seat).delete()


# --- Assign seats from CRM ----------------------------------------------------------------------


def crm_users_reload(*, contract: Contract, by: User | None) -> int:
    """*Refresh from CRM*: re-read the org's users from Dynamics and re-map every seat.

    Raises ValidationError when the contract is not connected, and CrmProblem when Dynamics fails
    (also recorded on the connection, so CRM Settings shows it). Returns how many CRM users the
    org has.
    """
    connection = crm_connection_get(contract=contract)
    if connection is None:
        raise ValidationError("Connect to CRM on Admin Settings > CRM Settings first.")
    try:
        # An admin waits on this page: few, short retries (open_client's interactive policy).
        with open_client(connection, interactive=True) as client:
            count = crm_users_refresh(contract=contract, client=client)
    except DynamicsError as error:
        connection_record_error(connection=connection, error=error)
        raise CrmProblem.from_error(error) from error
    connection_clear_error(connection=connection)
    audit_record(
        contract=contract, actor=by, action="crm.users_refresh", after={"crm_users": count}
    )
    return count


@dataclass(frozen=True)
class Assignment:
    """What *Assign seats from CRM* did."""

    created: list[Seat]
    # Selected people who already hold a seat (here or elsewhere): nothing was done for them.
    already: list[str]
    # Selected CRM users who cannot have a seat (disabled, application user, no email).
    unusable: list[str]
    # Addresses that belong to a portal account this contract does not own (staff, a person
    # whose seat was removed): refused, with the reason (``seats_create``).
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CrmUsersToSeat:
    """The selected CRM users, sorted out for *Assign seats from CRM*."""

    # Who would get a seat: one CRM user per email, by name.
    usable: list[CrmUser]
    # Emails of people who already hold a seat (here or elsewhere).
    already: list[str]
    # Names of CRM users who cannot have a seat (disabled, application user, no email).
    unusable: list[str]


def crm_users_to_seat(*, contract: Contract, crm_users: QuerySet[CrmUser]) -> CrmUsersToSeat:
    """Sort the selected CRM users into who would get a seat, who already holds one and who
    cannot have one: the assignment's own first step, and its preview's (``sync.preview``)."""
    users = list(crm_users.filter(contract=contract).order_by("full_name", "email"))
    usable, unusable = [], []
    for user in users:
        if user.email and not user.is_disabled and not user.is_application_user:
            usable.append(user)
        else:
            unusable.append(user.full_name or str(user.crm_id))
    addresses = {u.email for u in usable} | {u.domain_name for u in usable if u.domain_name}
    holders = set(
        Seat.objects.filter(user__email__in=addresses).values_list("user__email", flat=True)
    )
    chosen, already, seen = [], [], set()
    for user in usable:
        if user.email in holders or user.domain_name in holders:
            already.append(user.email)
        elif user.email not in seen:
            seen.add(user.email)
            chosen.append(user)
    return CrmUsersToSeat(usable=chosen, already=already, unusable=unusable)


def _name_parts(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first, last.strip()


@transaction.atomic
def seats_assign_from_crm(
    *, contract: Contract, crm_users: QuerySet[CrmUser], by: User | None, base_url: str
) -> Assignment:
    """Give a Seat holder seat to each selected CRM user, and invite them to set a password.

    1. Lock the contract, so the free-seat count cannot change underneath.
    2. Set aside people who already hold a seat (a no-op, reported) and CRM users who cannot
       have one. ``seats_create`` refuses any address that belongs to an account the contract
       does not own (the operator's staff, say) and creates the rest all or nothing within the
       purchased seat count (it raises ValidationError and nothing is created otherwise).
    3. Map the new seats to their CRM users, invite them once the transaction commits, and start
       an import when they sync with CRM.
    """
    Contract.objects.select_for_update().filter(pk=contract.pk).first()
    sorted_out = crm_users_to_seat(contract=contract, crm_users=crm_users)
    unusable, already = sorted_out.unusable, sorted_out.already
    people = []
    for user in sorted_out.usable:
        first_name, last_name = _name_parts(user.full_name)
        people.append({"email": user.email, "first_name": first_name, "last_name": last_name})
    if not people:
        return Assignment(created=[], already=already, unusable=unusable)
    result = seats_create(contract=contract, people=people, role=Role.SEAT_HOLDER, by=by)
    created = result.seats
    already += [email for email, why in result.refused.items() if why == ALREADY_HOLDS_A_SEAT]
    refused = {e: why for e, why in result.refused.items() if why != ALREADY_HOLDS_A_SEAT}
    if not created:
        return Assignment(created=[], already=already, unusable=unusable, refused=refused)
    seat_mappings_refresh(contract=contract, seats=created)
    seat_invitations_enqueue(contract=contract, seats=created, base_url=base_url, by=by)
    if crm_settings_get(contract=contract).auto_sync and crm_connection_get(contract=contract):
        sync_enqueue(contract_id=contract.pk, trigger="seats")
    return Assignment(created=created, already=already, unusable=unusable, refused=refused)
