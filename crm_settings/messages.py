"""What admins are told when the CRM fails: the seed guide's four messages and their next steps.

The ``dynamics`` client classifies every failure by ``kind``; this module turns a kind into the
words of the guide ("Errors that may be displayed and next steps"), plus the technical detail an
admin can pass on to their CRM administrator or to support.
"""

from dataclasses import dataclass, replace

from django.contrib import messages

from dynamics import DynamicsError, EnvironmentUrlRefused, Throttled
from dynamics.errors import retry_note


@dataclass(frozen=True)
class AdminMessage:
    message: str
    next_step: str
    detail: str = ""

    @property
    def text(self) -> str:
        """The message as one line for a page's notice: the guide's words, then the detail."""
        text = f"{self.message} Next step: {self.next_step}" if self.next_step else self.message
        return f"{text} (Details: {self.detail})" if self.detail else text


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
    # Not in the guide: no key in PORTAL_ENCRYPTION_KEY decrypts the stored sign-in (the key was
    # changed without keeping the old one listed). Connecting again replaces it.
    "unreadable": (
        "The stored CRM sign-in can no longer be read. Please connect to CRM again.",
        "Select Connect to CRM and sign in again, ideally as your Integration User. Your CRM "
        "settings and imported data are kept.",
    ),
}
KINDS = tuple(_BY_KIND)

# Not in the guide: a connection saved, before the check was strict, with an environment URL the
# portal now refuses to send a token to (an "auth" error: connecting again is the remedy).
_REFUSED_ENVIRONMENT_URL = (
    "The environment URL of this connection is not accepted, so nothing was sent to it.",
    "Select Disconnect CRM Sync (without clean-up, so nothing is lost), then Connect to CRM "
    "again with your environment's address, e.g. https://contoso.crm.dynamics.com.",
)


def admin_message(kind: str, detail: str = "") -> AdminMessage:
    message, next_step = _BY_KIND.get(kind, _BY_KIND["api"])
    return AdminMessage(message=message, next_step=next_step, detail=detail)


def error_kind(error: DynamicsError) -> str:
    """The kind to store for a failure: the client's, or ``THROTTLED`` when asked to wait."""
    return THROTTLED if isinstance(error, Throttled) else error.kind


def paused_notice(retry_at) -> str:
    """What a page says when it queued work that waits for Dynamics' Retry-After."""
    return f"Your CRM asked the portal to pause its requests. {retry_note(retry_at)}"


def admin_message_for(error: DynamicsError) -> AdminMessage:
    """The guide's message for a client error, with ``str(error)`` as the technical detail.

    When Dynamics asked to wait, the message says until when.
    """
    if isinstance(error, EnvironmentUrlRefused):
        message, next_step = _REFUSED_ENVIRONMENT_URL
        return AdminMessage(message=message, next_step=next_step, detail=str(error))
    message = admin_message(error_kind(error), str(error))
    if isinstance(error, Throttled) and error.retry_at is not None:
        message = replace(message, message=f"{message.message} {retry_note(error.retry_at)}")
    return message


class CrmProblem(Exception):
    """The portal-level error services raise when the CRM fails: views catch this, never the
    ``dynamics`` client's errors, and show it with ``crm_problem_show``.

    It carries the guide's message and next step with the technical detail (``admin_message``),
    the client's ``kind`` and whether trying again can help (``retryable``).
    """

    def __init__(self, admin_message: AdminMessage, *, kind: str, retryable: bool = False):
        super().__init__(admin_message.text)
        self.admin_message = admin_message
        self.kind = kind
        self.retryable = retryable

    @classmethod
    def from_error(cls, error: DynamicsError) -> "CrmProblem":
        return cls(admin_message_for(error), kind=error_kind(error), retryable=error.retryable)

    @classmethod
    def sign_in_refused(cls, error: DynamicsError) -> "CrmProblem":
        """Microsoft sign-in said no (cancelled, wrong account, consent refused): its own words
        say what happened and what to do, so they are shown as they are."""
        return cls(AdminMessage(message=error.message, next_step=""), kind=error.kind)


def crm_problem_show(request, problem: CrmProblem, *, prefix: str = "") -> None:
    """Show ``problem`` as the page's error notice (the one place its words are put together)."""
    messages.error(request, f"{prefix}{problem.admin_message.text}")
