"""Background work of the seats app (django-q2 tasks, enqueued by name)."""

from seats.invitations import invitations_send
from seats.models import Seat


def seat_invitations_send(seat_ids: list[int], base_url: str, invited_by: str = "") -> int:
    """Email invitations to the holders of ``seat_ids``; seats deleted since are skipped."""
    seats = Seat.objects.filter(pk__in=seat_ids).select_related("user", "contract")
    return invitations_send(seats=seats, base_url=base_url, invited_by=invited_by)
