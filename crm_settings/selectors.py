"""Reads of a contract's CRM connection and settings, for every app above this one."""

from crm_settings.models import CrmConnection, CrmSettings
from seats.models import Contract


def crm_settings_get(*, contract: Contract) -> CrmSettings:
    """The contract's CRM settings; defaults (created on first use) when never saved."""
    crm_settings, _ = CrmSettings.objects.get_or_create(contract=contract)
    return crm_settings


def crm_connection_get(*, contract: Contract) -> CrmConnection | None:
    """The live connection, or None when the contract is not connected."""
    return CrmConnection.objects.filter(contract=contract).first()
