"""Invitation emails: how someone given a seat sets their password and signs in.

Seats are created for people who have no password yet (their user gets an unusable one), so the
invitation carries the one-time link of allauth's *forgot password* flow: following it, they choose
a password on allauth's page and are signed in on their Accounts (ACCOUNT_LOGIN_ON_PASSWORD_RESET).
The link stops working once used, when the password changes, or after ``PASSWORD_RESET_TIMEOUT``;
an admin can send a new invitation.
"""

from collections.abc import Iterable

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from seats.models import Seat, User


def invitation_url(*, user: User, base_url: str) -> str:
    """allauth's set-password link for ``user``, on the portal at ``base_url``."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


def _invitation(seat: Seat, *, base_url: str, invited_by: str) -> EmailMultiAlternatives:
    context = {
        "seat": seat,
        "contract": seat.contract,
        "invited_by": invited_by,
        "url": invitation_url(user=seat.user, base_url=base_url),
        "login_url": base_url.rstrip("/") + reverse("account_login"),
        "valid_days": max(settings.PASSWORD_RESET_TIMEOUT // 86400, 1),
    }
    subject = render_to_string("seats/email/invitation_subject.txt", context)
    return EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("seats/email/invitation_message.txt", context),
        to=[seat.user.email],
    )


def invitations_send(*, seats: Iterable[Seat], base_url: str, invited_by: str = "") -> int:
    """Email an invitation to every seat holder in ``seats`` who has no password yet.

    People who already set a password are skipped, so sending twice does no harm. Returns how
    many emails went out.
    """
    messages = [
        _invitation(seat, base_url=base_url, invited_by=invited_by)
        for seat in seats
        if not seat.user.has_usable_password()
    ]
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
    return len(messages)
