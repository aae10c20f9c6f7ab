"""Writes for contracts, seats and the audit trail.

Views, admin actions, management commands and tasks all change seats through these functions, so
the rules (seat limit, last admin, audit) hold whichever door a change comes through. Business-rule
violations raise ``django.core.exceptions.ValidationError`` with a message fit for the page.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from seats.models import ADMIN_ROLES, SEAT_ROLES, AuditEntry, Contract, Role, Seat, User


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


def seats_in_use(*, contract: Contract) -> int:
    """Purchased seats taken: Admin and Seat holder roles (Admin only seats are free)."""
    return contract.seats.filter(role__in=SEAT_ROLES).count()


def _check_seat_limit(*, contract: Contract, adding: int) -> None:
    in_use = seats_in_use(contract=contract)
    free = contract.purchased_seats - in_use
    if adding > free:
        raise ValidationError(
            f"{contract.name} has {contract.purchased_seats} purchased seats and {in_use} in use, "
            f"so {max(free, 0)} can be assigned; you selected {adding}. Nothing was assigned."
        )


@transaction.atomic
def seats_create(
    *,
    contract: Contract,
    people: Iterable[dict],
    role: str = Role.SEAT_HOLDER,
    by: User | None = None,
) -> list[Seat]:
    """Create users and seats for ``people`` (dicts with email, first_name, last_name[, password]).

    All or nothing: the seat limit is checked for the whole batch first, under a lock on the
    contract row so two admins assigning at once cannot overshoot it.
    """
    people = list(people)
    Contract.objects.select_for_update().filter(pk=contract.pk).first()
    if role in SEAT_ROLES:
        _check_seat_limit(contract=contract, adding=len(people))
    emails = [p["email"].strip().lower() for p in people]
    taken = set(Seat.objects.filter(user__email__in=emails).values_list("user__email", flat=True))
    if taken:
        raise ValidationError(f"Already holding a seat: {', '.join(sorted(taken))}.")
    created = []
    for person, email in zip(people, emails, strict=True):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                person.get("password"),
                first_name=person.get("first_name", ""),
                last_name=person.get("last_name", ""),
            )
        created.append(Seat.objects.create(contract=contract, user=user, role=role))
    audit_record(
        contract=contract,
        actor=by,
        action="seats.create",
        target=", ".join(emails),
        after={"emails": emails, "role": role},
    )
    return created


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
