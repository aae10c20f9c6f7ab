"""What admins are told when the CRM fails: the seed guide's four messages and their next steps.

The ``dynamics`` client classifies every failure by ``kind``; this module turns a kind into the
words of the guide ("Errors that may be displayed and next steps"), plus the technical detail an
admin can pass on to their CRM administrator or to support.
"""

from dataclasses import dataclass, replace

from dynamics import DynamicsError, Throttled
from dynamics.errors import retry_note


@dataclass(frozen=True)
class AdminMessage:
    message: str
    next_step: str
    detail: str = ""


# The kind stored for a run stopped by ``dynamics.Throttled`` (whose own kind is "api").
THROTTLED = "throttled"

_BY_KIND = {
    "connect": (
        "Could not connect to CRM. Please try again later.",
        "There is a connection error with CRM. Please re-try later.",
    ),
    "api": (
        "The CRM API reported an error. Please try again later.",
        "Error with your API access, check with CRM system's uptime or your CRM representative.",
    ),
    "privilege": (
        "Your CRM account does not have sufficient access privileges. "
        "Please check with your CRM administrator.",
        "Connect with your internal CRM administrator to obtain required access privileges.",
    ),
    "missing": (
        "Could not read the required CRM objects from your org.",
        "Make sure the accounts, contacts, opportunities and users tables exist in this "
        "environment and that the connecting user can read them, then try again.",
    ),
    # Not in the guide: Dynamics' service protection asked the portal to wait (429 with
    # Retry-After). Nothing is broken; Microsoft asks clients to say the server is busy and when
    # it accepts requests again (``admin_message_for`` adds the time).
    THROTTLED: (
        "Your CRM is busy: it asked the portal to pause its requests for a while.",
        "Nothing to fix. Scheduled imports and writeback wait, then carry on by themselves. If "
        "this keeps happening, ask your CRM administrator whether other tools use the same CRM "
        "user heavily.",
    ),
    # Not in the guide: the stored sign-in no longer works (revoked, expired, password changed).
    "auth": (
        "Your CRM sign-in has expired or was revoked. Please connect to CRM again.",
        "Select Disconnect CRM Sync (without clean-up, so nothing is lost), then Connect to CRM "
        "again, ideally as your Integration User.",
    ),
}
KINDS = tuple(_BY_KIND)


def admin_message(kind: str, detail: str = "") -> AdminMessage:
    message, next_step = _BY_KIND.get(kind, _BY_KIND["api"])
    return AdminMessage(message=message, next_step=next_step, detail=detail)


def error_kind(error: DynamicsError) -> str:
    """The kind to store for a failure: the client's, or ``THROTTLED`` when asked to wait."""
    return THROTTLED if isinstance(error, Throttled) else error.kind


def admin_message_for(error: DynamicsError) -> AdminMessage:
    """The guide's message for a client error, with ``str(error)`` as the technical detail.

    When Dynamics asked to wait, the message says until when.
    """
    message = admin_message(error_kind(error), str(error))
    if isinstance(error, Throttled) and error.retry_at is not None:
        message = replace(message, message=f"{message.message} {retry_note(error.retry_at)}")
    return message
