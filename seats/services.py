"""Writes for contracts, seats and the audit trail.

Views, admin actions, management commands and tasks all change seats through these functions, so
the rules (seat limit, last admin, audit) hold whichever door a change comes through. Business-rule
violations raise ``django.core.exceptions.ValidationError`` with a message fit for the page.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q

from seats.models import ADMIN_ROLES, SEAT_ROLES, AuditEntry, Contract, Role, Seat, User
from seats.tasks import SEAT_INVITATIONS_SEND
from seats.timezones import zone_valid


def audit_record(
    *,
    contract: Contract | None,
    actor: User | None,
    action: str,
    target: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Record one administrative change. ``before``/``after`` hold only the fields that changed."""
    return AuditEntry.objects.create(
        contract=contract,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.email if actor is not None and actor.pk else "system",
        action=action,
        target=target,
        before=before or {},
        after=after or {},
    )


def contract_create(*, name: str, purchased_seats: int, by: User | None = None) -> Contract:
    contract = Contract.objects.create(name=name, purchased_seats=purchased_seats)
    audit_record(
        contract=contract,
        actor=by,
        action="contract.create",
        target=name,
        after={"name": name, "purchased_seats": purchased_seats},
    )
    return contract


def user_time_zone_set(*, user: User, time_zone: str) -> None:
    """The zone ``user`` sees times in ("" follows their browser's)."""
    if time_zone and not zone_valid(time_zone):
        raise ValidationError(f"{time_zone} is not a time zone.")
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])


def seats_in_use(*, contract: Contract) -> int:
    """Purchased seats taken: Admin and Seat holder roles (Admin only seats are free)."""
    return contract.seats.filter(role__in=SEAT_ROLES).count()


def seats_in_use_and_admin_only(*, contract: Contract) -> tuple[int, int]:
    """Purchased seats taken, and the Admin only seats beside them (which take none): one query."""
    counts = contract.seats.aggregate(
        in_use=Count("pk", filter=Q(role__in=SEAT_ROLES)),
        admin_only=Count("pk", filter=Q(role=Role.ADMIN_ONLY)),
    )
    return counts["in_use"], counts["admin_only"]


def seats_free(*, contract: Contract) -> int:
    """Purchased seats not in use yet (never negative)."""
    return max(contract.purchased_seats - seats_in_use(contract=contract), 0)


def _check_seat_limit(*, contract: Contract, adding: int) -> None:
    in_use = seats_in_use(contract=contract)
    free = contract.purchased_seats - in_use
    if adding > free:
        raise ValidationError(
            f"{contract.name} has {contract.purchased_seats} purchased seats and {in_use} in use, "
            f"so {max(free, 0)} can be assigned; you selected {adding}. Nothing was assigned."
        )


# Why a row of ``seats_create`` was refused, as the admin reads it.
ALREADY_HOLDS_A_SEAT = "already holds a seat"
ACCOUNT_NOT_THE_CONTRACTS = (
    "already has a portal account that this contract does not manage (ask support to move it)"
)

OPERATOR_ACCOUNT = (
    "This person's account belongs to the portal's operator: ask support to change its name or "
    "email."
)


@dataclass(frozen=True)
class SeatsCreated:
    """What ``seats_create`` did: the new seats, and each refused address with the reason."""

    seats: list[Seat]
    refused: dict[str, str] = field(default_factory=dict)


def _existing_accounts(emails: list[str]) -> dict[str, str]:
    """The addresses among ``emails`` that already belong to an account, with the reason.

    A contract owns only the accounts it created together with their seats. Any other account with
    the address (one holding a seat here or on another contract, the operator's staff or
    superusers, someone whose seat was removed and who kept their password, or a second address
    of anyone) is not the contract's to take over, so no seat is ever attached to it.
    """
    if not emails:
        return {}
    email_q = Q()
    for email in emails:
        email_q |= Q(email__iexact=email)
    found: dict[str, str] = {}
    for email, holds_seat in User.objects.filter(email_q).values_list("email", "seat"):
        found[email.lower()] = ALREADY_HOLDS_A_SEAT if holds_seat else ACCOUNT_NOT_THE_CONTRACTS
    for email in EmailAddress.objects.filter(email_q).values_list("email", flat=True):
        found.setdefault(email.lower(), ACCOUNT_NOT_THE_CONTRACTS)
    return found


@transaction.atomic
def seats_create(
    *,
    contract: Contract,
    people: Iterable[dict],
    role: str = Role.SEAT_HOLDER,
    by: User | None = None,
) -> SeatsCreated:
    """Create a new account and a seat for each of ``people`` (dicts with email, first_name,
    last_name[, password]).

    Only new accounts: an address that already belongs to an account is refused with the reason
    (``_existing_accounts``) and the others still go in. The seat limit is checked for what
    remains, all or nothing, under a lock on the contract row so two admins assigning at once
    cannot overshoot it.
    """
    people = list(people)
    Contract.objects.select_for_update().filter(pk=contract.pk).first()
    wanted: dict[str, dict] = {}
    for person in people:
        wanted.setdefault(person["email"].strip().lower(), person)
    refused = _existing_accounts(list(wanted))
    accepted = {email: person for email, person in wanted.items() if email not in refused}
    if role in SEAT_ROLES:
        _check_seat_limit(contract=contract, adding=len(accepted))
    created = []
    for email, person in accepted.items():
        user = User.objects.create_user(
            email,
            person.get("password"),
            first_name=person.get("first_name", ""),
            last_name=person.get("last_name", ""),
        )
        created.append(Seat.objects.create(contract=contract, user=user, role=role))
    if created:
        audit_record(
            contract=contract,
            actor=by,
            action="seats.create",
            target=", ".join(accepted),
            after={"emails": list(accepted), "role": role},
        )
    return SeatsCreated(seats=created, refused=refused)


@transaction.atomic
def seat_change_role(*, seat: Seat, role: str, by: User | None = None) -> Seat:
    """Change a seat's role; a contract never loses its last admin, nor exceeds its seat count."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if role == seat.role:
        return seat
    Contract.objects.select_for_update().filter(pk=seat.contract_id).first()
    if seat.role in ADMIN_ROLES and role not in ADMIN_ROLES:
        other_admins = seat.contract.seats.filter(role__in=ADMIN_ROLES).exclude(pk=seat.pk)
        if not other_admins.exists():
            raise ValidationError(
                "This is the contract's last admin. Make someone else an admin first."
            )
    if role in SEAT_ROLES and seat.role not in SEAT_ROLES:
        _check_seat_limit(contract=seat.contract, adding=1)
    before = seat.role
    seat.role = role
    seat.save(update_fields=["role", "updated_at"])
    audit_record(
        contract=seat.contract,
        actor=by,
        action="seat.role",
        target=seat.user.email,
        before={"role": before},
        after={"role": role},
    )
    return seat


@transaction.atomic
def seat_details_update(
    *, seat: Seat, first_name: str, last_name: str, email: str, by: User | None = None
) -> dict:
    """Change the seat holder's name and email; returns the fields that changed (old values).

    The email is how people sign in and how the seat maps to a CRM user, so it stays unique, and
    allauth's addresses for the old email go: it must not sign in or receive a reset link again.

    A contract admin changes only accounts the contract owns: never a staff user's or a
    superuser's, even one holding a seat here (set up by staff), since a changed email plus a
    password reset would hand that account, and the Django admin, to whoever owns the new address.
    """
    user = seat.user
    if user.is_staff or user.is_superuser:
        raise ValidationError(OPERATOR_ACCOUNT)
    email = email.strip().lower()
    if email != user.email and (
        User.objects.filter(email=email).exclude(pk=user.pk).exists()
        or EmailAddress.objects.filter(email__iexact=email).exclude(user=user).exists()
    ):
        raise ValidationError({"email": f"Another person already signs in with {email}."})
    new = {"first_name": first_name.strip(), "last_name": last_name.strip(), "email": email}
    before = {
        name: getattr(user, name) for name, value in new.items() if getattr(user, name) != value
    }
    if not before:
        return {}
    for name in before:
        setattr(user, name, new[name])
    user.save(update_fields=list(before))
    if "email" in before:
        EmailAddress.objects.filter(user=user).exclude(email__iexact=email).delete()
    audit_record(
        contract=seat.contract,
        actor=by,
        action="seat.details",
        target=email,
        before=before,
        after={name: new[name] for name in before},
    )
    return before


def seat_invitations_enqueue(
    *, contract: Contract, seats: Iterable[Seat], base_url: str, by: User | None = None
) -> None:
    """Email each seat's holder an invitation to set their password, once this transaction commits.

    Sent by a task so that assigning hundreds of seats does not wait on the mail server, and only
    after commit so nobody is invited to a seat that was rolled back. ``base_url`` is the portal's
    address for the links (the task has no request to ask).
    """
    from django_q.tasks import async_task

    seats = list(seats)
    if not seats:
        return
    seat_ids = [seat.pk for seat in seats]
    invited_by = by.display_name if by is not None else ""
    audit_record(
        contract=contract,
        actor=by,
        action="seats.invite",
        target=seats[0].user.email if len(seats) == 1 else f"{len(seats)} seats",
        after={"emails": [seat.user.email for seat in seats]},
    )
    transaction.on_commit(lambda: async_task(SEAT_INVITATIONS_SEND, seat_ids, base_url, invited_by))
