"""Who may open what: the role decorators and the contract-scoped lookup every view uses.

- No seat, or a role that is too low: **403** (the page exists, you may not use it).
- An object of another contract: **404** (we do not even confirm that it exists).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404


def _require(check, message):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            seat = request.seat
            if seat is None or not check(seat):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


seat_required = _require(lambda seat: True, "You need a seat on a contract to use this page.")
admin_required = _require(
    lambda seat: seat.is_admin, "Only contract admins can open Admin Settings and Seat Management."
)
seat_holder_required = _require(
    lambda seat: seat.has_seat_features,
    "This page is for seat holders. Admin only seats can configure, not prospect.",
)


def get_for_contract(request, queryset, **lookup):
    """The object of the current contract matching ``lookup``, or 404 for anything else."""
    return get_object_or_404(queryset.filter(contract=request.contract), **lookup)


def get_for_seat(request, queryset, **lookup):
    """The object owned by the current seat matching ``lookup``, or 404 for anything else."""
    return get_object_or_404(queryset.filter(seat=request.seat), **lookup)
