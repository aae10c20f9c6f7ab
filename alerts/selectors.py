"""Reads of the alerts for their pages."""

from alerts.models import AlertPreferences, Incident
from seats.models import Contract, Seat


def incidents_open(*, contract: Contract) -> list[Incident]:
    """The contract's open incidents, oldest first (one query)."""
    return list(
        Incident.objects.filter(contract=contract, cleared_at__isnull=True).order_by("opened_at")
    )


def alert_preferences_get(*, seat: Seat) -> AlertPreferences:
    """The seat's alert choices; the defaults (every kind, each at once) when never saved."""
    return AlertPreferences.objects.filter(seat=seat).first() or AlertPreferences(seat=seat)
