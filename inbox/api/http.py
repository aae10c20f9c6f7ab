"""The mobile API's plumbing: bearer-token sign-in, JSON bodies, and errors as JSON.

Every endpoint is wrapped in ``endpoint(...)``, which answers the same way everywhere::

    {"error": {"code": "invalid_fields", "message": "...", "fields": {"body": ["..."]}}}

with 401 (no or bad token), 403 (no seat features), 404 (not this seat's, or absent), 405, 413
(a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``), 415 (a body that is not JSON) and 400 (bad JSON,
bad fields). Session cookies are ignored: the API is CSRF-exempt, so only a token may sign a
request in.
"""

import json
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from inbox.services import api_token_authenticate
from seats.models import Seat

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}


class ApiError(Exception):
    """An answer other than success, with the status, a stable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def response(self) -> JsonResponse:
        error = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        response = JsonResponse({"error": error}, status=self.status)
        if self.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response


def invalid_fields(fields: dict[str, list[str]]) -> ApiError:
    """A 400 naming each field's problems; problems of no one field become the message."""
    fields = {name: list(messages) for name, messages in fields.items()}
    general = fields.pop(NON_FIELD_ERRORS, None)
    message = general[0] if general else "Some fields are not valid; see fields."
    return ApiError(400, "invalid_fields", message, fields or None)


def from_validation_error(error: ValidationError) -> ApiError:
    """A service's refusal, as a 400 that names the fields where it can."""
    if hasattr(error, "error_dict"):
        return invalid_fields(error.message_dict)
    return ApiError(400, "invalid", error.messages[0])


def _sign_in(request: HttpRequest) -> None:
    """Put the token's user, seat and contract on the request, replacing any session's."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(
            401, "unauthorized", "Send your app token as 'Authorization: Bearer <token>'."
        )
    token = api_token_authenticate(raw=raw.strip())
    if token is None:
        raise ApiError(401, "unauthorized", "This token is not valid, or it was revoked.")
    seat = Seat.objects.select_related("contract").filter(user=token.user).first()
    request.user = token.user
    request.seat = seat
    request.contract = seat.contract if seat else None
    if seat is None or not seat.has_seat_features:
        raise ApiError(
            403, "forbidden", "The app is for seat holders; Admin only seats cannot prospect."
        )


def endpoint(*methods: str, public: bool = False) -> Callable:
    """Make a view a JSON endpoint answering ``methods``; ``public`` ones need no token."""

    def decorator(view):
        @csrf_exempt
        @login_not_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if not public:
                    _sign_in(request)
                if request.method not in methods:
                    raise ApiError(
                        405, "method_not_allowed", f"Use {' or '.join(methods)} on this URL."
                    )
                return view(request, *args, **kwargs)
            except ApiError as error:
                response = error.response()
            except Http404:
                response = ApiError(404, "not_found", "There is nothing of yours here.").response()
            except ValidationError as error:
                response = from_validation_error(error).response()
            if response.status_code == 405:
                response["Allow"] = ", ".join(methods)
            return response

        wrapper.methods = methods
        return wrapper

    return decorator


def json_body(request: HttpRequest, fields: dict[str, type]) -> dict:
    """The request's JSON object, with every key one of ``fields`` and of its type."""
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "Send the body as JSON, with 'Content-Type: application/json'.",
        )
    try:
        body = request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise ApiError(
            413, "too_large", f"The body is too large; send at most {limit} bytes."
        ) from None
    try:
        data = json.loads(body)
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {error}.") from None
    except RecursionError:
        # The decoder recurses once per nested array or object; no endpoint takes nesting.
        raise ApiError(400, "invalid_json", "The body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    errors = {}
    for name, value in data.items():
        expected = fields.get(name)
        if expected is None:
            errors[name] = [f"Unknown field. This endpoint takes: {', '.join(fields)}."]
        # bool is an int in Python; JSON's true is not a number.
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            errors[name] = [f"Must be {_TYPE_NAMES[expected]}."]
    if errors:
        raise invalid_fields(errors)
    return data
