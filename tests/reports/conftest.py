"""Builders for the reports: seats mapped to CRM users, currencies and won opportunities."""

from datetime import date

import pytest

from sync.models import SeatCrmUser
from tests.factories import CrmCurrencyFactory, CrmOpportunityFactory, CrmUserFactory


def map_to_crm(seat):
    """Map ``seat`` to a CRM user of its contract, as the import's seat mapping does."""
    crm_user = CrmUserFactory(contract=seat.contract, email=seat.user.email)
    SeatCrmUser.objects.create(seat=seat, crm_user=crm_user)
    return crm_user


@pytest.fixture
def currencies(contract):
    """The contract's mirrored currencies: US Dollar, Euro and Pound Sterling, by code."""
    return {
        code: CrmCurrencyFactory(contract=contract, iso_code=code, symbol=symbol, name=name)
        for code, symbol, name in (
            ("USD", "$", "US Dollar"),
            ("EUR", "€", "Euro"),
            ("GBP", "£", "Pound Sterling"),
        )
    }


def win(crm_user, *, value, currency, closed=date(2026, 3, 10), saved_at=None, **extra):
    """A won opportunity of ``crm_user``'s, mirrored as the import stores it."""
    return CrmOpportunityFactory(
        contract=crm_user.contract,
        won=True,
        owner_id=crm_user.crm_id,
        won_value=value,
        currency_id=currency.crm_id if currency is not None else None,
        actual_close_date=closed,
        first_saved_at=saved_at,
        **extra,
    )
