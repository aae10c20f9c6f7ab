"""Per-device tokens for the mobile app, created and revoked by their seat holder.

Only a SHA-256 digest is stored (``seats.models.ApiToken``): the token itself is shown once, when
it is created, and cannot be recovered from the database.
"""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from seats.models import ApiToken, User

TOKEN_BYTES = 32
NAME_TAKEN = "You already have a token called “{name}”. Choose another name, or revoke that one."
# How stale ``last_used_at`` may get: refreshing it on every request would write on every read.
LAST_USED_PRECISION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for one of ``user``'s devices; returns the row and the token, to show once."""
    name = name.strip()
    if ApiToken.objects.filter(user=user, name__iexact=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": NAME_TAKEN.format(name=name)})
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken.objects.create(user=user, name=name, digest=_digest(raw), prefix=raw[:8])
    return token, raw


def api_token_list(*, user: User):
    """The user's tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop a token from working, for good; revoking twice keeps the first date."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token ``raw`` stands for, with its user, or None; notes when it was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
