import pytest
from django.core.management import call_command

from inbox.models import Message, Note, Thread
from network.models import Member
from seats.models import AuditEntry, Contract, Role, Seat, User

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        list(Contract.objects.values_list("name", "purchased_seats").order_by("name")),
        list(
            Seat.objects.values_list("user__email", "role", "contract__name").order_by(
                "user__email"
            )
        ),
        list(User.objects.values_list("email", "password").order_by("email")),
        AuditEntry.objects.count(),
        Member.objects.count(),
        Thread.objects.count(),
        Message.objects.count(),
        Note.objects.count(),
    )


def test_the_demo_command_is_idempotent(capsys):
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
    assert _snapshot() == first
    assert "nothing changed" in capsys.readouterr().out


def test_the_demo_has_every_role_and_known_passwords(client):
    call_command("seed_demo", quiet_logins=True)
    contoso = Contract.objects.get(name="Contoso Demo")
    roles = set(contoso.seats.values_list("role", flat=True))
    assert roles == {Role.ADMIN, Role.ADMIN_ONLY, Role.SEAT_HOLDER}
    assert client.login(email="admin@contoso-demo.com", password="crm-demo-2026")
    assert User.objects.get(email="staff@crm-sync.local").is_staff


def test_the_demo_gives_seat_holders_a_network_and_conversations():
    call_command("seed_demo", quiet_logins=True)
    assert Member.objects.count() > 300
    alex = Seat.objects.get(user__email="alex.morgan@contoso-demo.com")
    assert Thread.objects.filter(seat=alex).count() >= 2
    assert Note.objects.filter(seat=alex).exists()
