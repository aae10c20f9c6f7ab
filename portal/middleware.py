"""Every request's log lines carry its request id, contract and seat (``config.logs``)."""

import uuid

from config.logs import log_context


class LogContextMiddleware:
    """Sets the request's log context, and answers its id in ``X-Request-ID`` (what a user quotes
    to support finds the request's lines).

    After ``seats.middleware.TenancyMiddleware``, which has put the seat on the request. The id
    is always our own: one sent by the client could be made to match someone else's.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex[:16]
        seat = request.seat
        with log_context(
            request_id=request.request_id,
            contract_id=seat.contract_id if seat else None,
            seat_id=seat.pk if seat else None,
        ):
            response = self.get_response(request)
        response.headers["X-Request-ID"] = request.request_id
        return response
