"""Puts the signed-in user's seat and contract on every request.

Views read ``request.seat`` and ``request.contract`` (both ``None`` for anonymous visitors and for
staff without a seat) and never look the tenancy up themselves. It costs one query per signed-in
request, made here once so list pages can count on it.
"""

from seats.models import Seat


class TenancyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.seat = None
        request.contract = None
        if request.user.is_authenticated:
            seat = Seat.objects.select_related("contract").filter(user=request.user).first()
            if seat is not None:
                seat.user = request.user
                request.seat = seat
                request.contract = seat.contract
        return self.get_response(request)
