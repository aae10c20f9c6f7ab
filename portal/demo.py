"""The demo: contracts, people and seats with known passwords, created idempotently.

``manage.py seed_demo`` calls ``demo_seed()``; running it twice changes nothing. The Contoso
people share their emails with the Dynamics emulator's demo org (``demodata``), so their seats map
to CRM users once an admin connects, and the prospecting network is generated from the same seed
as that org, so the first import finds most of its contacts and accounts there.
"""

from dataclasses import dataclass

from django.db import transaction

from inbox.demo import inbox_demo_seed
from network.demo import network_seed
from network.models import Member
from seats.models import SEAT_ROLES, Contract, Role, Seat, User
from seats.services import contract_create, seats_create

DEMO_PASSWORD = "crm-demo-2026"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    first_name: str
    last_name: str
    role: str


DEMO_CONTRACTS = {
    "Contoso Demo": (
        12,
        [
            DemoPerson("admin@contoso-demo.com", "Dana", "Admin", Role.ADMIN),
            DemoPerson("ops@contoso-demo.com", "Oliver", "Ops", Role.ADMIN_ONLY),
            DemoPerson("alex.morgan@contoso-demo.com", "Alex", "Morgan", Role.SEAT_HOLDER),
            DemoPerson("priya.shah@contoso-demo.com", "Priya", "Shah", Role.SEAT_HOLDER),
            DemoPerson("sam.lee@contoso-demo.com", "Sam", "Lee", Role.SEAT_HOLDER),
            DemoPerson("maria.garcia@contoso-demo.com", "Maria", "Garcia", Role.SEAT_HOLDER),
            DemoPerson("tom.becker@contoso-demo.com", "Tom", "Becker", Role.SEAT_HOLDER),
        ],
    ),
    # A second contract, so the demo shows that nobody sees another contract's data.
    "Fabrikam Demo": (
        5,
        [
            DemoPerson("admin@fabrikam-demo.com", "Farah", "Admin", Role.ADMIN),
            DemoPerson("rep@fabrikam-demo.com", "Felix", "Rep", Role.SEAT_HOLDER),
        ],
    ),
}
DEMO_STAFF = DemoPerson("staff@crm-sync.local", "Stella", "Staff", "")


@transaction.atomic
def demo_seed() -> list[str]:
    """Create whatever part of the demo is missing; returns a line per thing created."""
    created = []
    for name, (purchased, people) in DEMO_CONTRACTS.items():
        contract = Contract.objects.filter(name=name).first()
        if contract is None:
            contract = contract_create(name=name, purchased_seats=purchased)
            created.append(f"contract {name}")
        have = set(
            Seat.objects.filter(user__email__in=[p.email for p in people]).values_list(
                "user__email", flat=True
            )
        )
        for person in people:
            if person.email in have:
                continue
            seats_create(
                contract=contract,
                role=person.role,
                people=[
                    {
                        "email": person.email,
                        "first_name": person.first_name,
                        "last_name": person.last_name,
                        "password": DEMO_PASSWORD,
                    }
                ],
            )
            created.append(f"seat {person.email}")
    if not User.objects.filter(email=DEMO_STAFF.email).exists():
        User.objects.create_superuser(
            DEMO_STAFF.email,
            DEMO_PASSWORD,
            first_name=DEMO_STAFF.first_name,
            last_name=DEMO_STAFF.last_name,
        )
        created.append(f"staff user {DEMO_STAFF.email}")
    network = network_seed()
    if network.changed:
        created.append(
            f"network: {network.companies_created} companies, {network.members_created} members"
        )
    created += _conversations_seed()
    return created


def _conversations_seed() -> list[str]:
    """Give each demo seat holder a few threads and notes with network members.

    Members are taken in a fixed order, four per seat, so the same people get the same
    conversations on every run; about 70% of the network has a CRM counterpart, so some threads
    match CRM contacts and some land in the unresolved-task report.
    """
    created = []
    members = list(Member.objects.order_by("profile_url")[:200])
    seats = Seat.objects.filter(
        user__email__in=[p.email for _, people in DEMO_CONTRACTS.values() for p in people],
        role__in=SEAT_ROLES,
    ).order_by("user__email")
    for index, seat in enumerate(seats):
        created += inbox_demo_seed(seat=seat, members=members[index * 4 : index * 4 + 4])
    return created


def demo_logins() -> list[tuple[str, str]]:
    """(email, what they can do) for the README and the run command's banner."""
    logins = []
    for name, (_, people) in DEMO_CONTRACTS.items():
        for person in people:
            logins.append((person.email, f"{Role(person.role).label}, {name}"))
    logins.append((DEMO_STAFF.email, "Staff: the Django admin at /admin/"))
    return logins
