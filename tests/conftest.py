"""The named cast every test can use (healthchecks' alice/bob/charlie, in our roles).

- ``contract``: the contract under test;
- ``admin``: an Admin seat on it (admin + seat holder features);
- ``admin_only``: an Admin only seat (configures, no seat features);
- ``seat_holder``: a Seat holder;
- ``outsider``: the Admin of *another* contract, who must see nothing of ``contract``.

Each fixture is a Seat; ``seat.user`` signs in. ``login`` gives a client signed in as a seat.
"""

import pytest

from tests.factories import ContractFactory, SeatFactory


@pytest.fixture
def contract(db):
    return ContractFactory(name="Contoso Test")


@pytest.fixture
def admin(contract):
    return SeatFactory(contract=contract, admin=True, user__email="admin@contoso.test")


@pytest.fixture
def admin_only(contract):
    return SeatFactory(contract=contract, admin_only=True, user__email="adminonly@contoso.test")


@pytest.fixture
def seat_holder(contract):
    return SeatFactory(contract=contract, user__email="rep@contoso.test")


@pytest.fixture
def outsider(db):
    return SeatFactory(
        contract=ContractFactory(name="Fabrikam Test"),
        admin=True,
        user__email="admin@fabrikam.test",
    )


@pytest.fixture
def login(client):
    """``login(seat)`` signs the test client in as that seat's user and returns the client."""

    def _login(seat):
        client.force_login(seat.user)
        return client

    return _login
