"""What admins are told when the CRM fails: the seed guide's four messages and their next steps.

The ``dynamics`` client classifies every failure by ``kind``; this module turns a kind into the
words of the guide ("Errors that may be displayed and next steps"), plus the technical detail an
admin can pass on to their CRM administrator or to support.
"""

from dataclasses import dataclass

from dynamics import DynamicsError, EnvironmentUrlRefused


@dataclass(frozen=True)
class AdminMessage:
    message: str
    next_step: str
    detail: str = ""


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
    # Not in the guide: the stored sign-in no longer works (revoked, expired, password changed).
    "auth": (
        "Your CRM sign-in has expired or was revoked. Please connect to CRM again.",
        "Select Disconnect CRM Sync (without clean-up, so nothing is lost), then Connect to CRM "
        "again, ideally as your Integration User.",
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


def admin_message_for(error: DynamicsError) -> AdminMessage:
    """The guide's message for a client error, with ``str(error)`` as the technical detail."""
    if isinstance(error, EnvironmentUrlRefused):
        message, next_step = _REFUSED_ENVIRONMENT_URL
        return AdminMessage(message=message, next_step=next_step, detail=str(error))
    return admin_message(error.kind, str(error))
