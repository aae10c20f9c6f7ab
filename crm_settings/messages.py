"""What admins are told when the CRM fails: the seed guide's four messages and their next steps.

The ``dynamics`` client classifies every failure by ``kind``; this module turns a kind into the
words of the guide ("Errors that may be displayed and next steps"), plus the technical detail an
admin can pass on to their CRM administrator or to support.
"""

from dataclasses import dataclass

from dynamics import DynamicsError


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
    # Not in the guide: no key in PORTAL_ENCRYPTION_KEY decrypts the stored sign-in (the key was
    # changed without keeping the old one listed). Connecting again replaces it.
    "unreadable": (
        "The stored CRM sign-in can no longer be read. Please connect to CRM again.",
        "Select Connect to CRM and sign in again, ideally as your Integration User. Your CRM "
        "settings and imported data are kept.",
    ),
}
KINDS = tuple(_BY_KIND)


def admin_message(kind: str, detail: str = "") -> AdminMessage:
    message, next_step = _BY_KIND.get(kind, _BY_KIND["api"])
    return AdminMessage(message=message, next_step=next_step, detail=detail)


def admin_message_for(error: DynamicsError) -> AdminMessage:
    """The guide's message for a client error, with ``str(error)`` as the technical detail."""
    return admin_message(error.kind, str(error))
