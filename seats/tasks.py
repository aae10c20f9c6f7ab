"""Background work of the seats app (django-q2 tasks, enqueued by name)."""

from seats.invitations import invitations_send
from seats.models import Seat

# The task by name, as the queue calls it: enqueue with this, not a literal.
SEAT_INVITATIONS_SEND = "seats.tasks.seat_invitations_send"


def seat_invitations_send(seat_ids: list[int], base_url: str, invited_by: str = "") -> int:
    """Email invitations to the holders of ``seat_ids``; seats deleted since are skipped."""
    seats = Seat.objects.filter(pk__in=seat_ids).select_related("user", "contract")
    return invitations_send(seats=seats, base_url=base_url, invited_by=invited_by)
