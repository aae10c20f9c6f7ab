"""*Create a follow-up task in CRM* (Data validation): a task for the seat holder whose Lead a
flagged contact is, written to the CRM through the outbox, exactly once.

Once per contact, owner and flagged data: asking again (a second click, a second admin, a
resent form) finds the ``FollowUp`` made the first time, and the outbox writes its one task
under an activity id derived from it. Once the flagged data changes, a new ask makes a new task.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from seats.models import Seat, User
from sync.flags import contact_owner_seats
from sync.models import ContactFlag, CrmContact
from writeback.models import FollowUp
from writeback.outbox import outbox_follow_up

NOT_AN_OWNER = "{email} does not hold {contact} as a Lead, so the task cannot be theirs."
NOTHING_FLAGGED = "{contact} has no flag left to follow up: the data was fixed or dismissed."


@dataclass(frozen=True)
class FollowUpAsked:
    """The follow-up task asked for, and whether this ask made it (False: it existed)."""

    follow_up: FollowUp
    created: bool


def _text(contact: CrmContact, flags: list[ContactFlag], by: User) -> tuple[str, str]:
    name = contact.full_name or "a contact"
    lines = [f"- {flag.get_reason_display()}: {flag.detail}" for flag in flags]
    description = "\n".join(
        [
            f"The prospecting network suggests the CRM data of {name} is out of date:",
            *lines,
            "",
            f"Asked for by {by.email} on Data validation in CRM Sync.",
        ]
    )
    return f"Check the CRM data of {name}", description


def follow_up_ask(*, contact: CrmContact, seat: Seat, by: User) -> FollowUpAsked:
    """A follow-up task about ``contact`` for ``seat`` (one of its owners), covering the
    contact's flags shown now (not dismissed); the existing one when already asked for.

    Raises ``ValidationError`` when ``seat`` does not hold the contact as a Lead, or nothing
    is flagged any more.
    """
    name = contact.full_name or "This contact"
    if seat.pk not in {owner.pk for owner in contact_owner_seats(contact=contact)}:
        raise ValidationError(NOT_AN_OWNER.format(email=seat.user.email, contact=name))
    flags = [
        flag
        for flag in ContactFlag.objects.filter(contact=contact).order_by("reason")
        if not flag.dismissed
    ]
    if not flags:
        raise ValidationError(NOTHING_FLAGGED.format(contact=name))
    inputs = "\n".join(f"{flag.reason}: {flag.inputs}" for flag in flags)
    subject, description = _text(contact, flags, by)
    with transaction.atomic():
        follow_up, created = FollowUp.objects.get_or_create(
            contract_id=contact.contract_id,
            seat=seat,
            contact_crm_id=contact.crm_id,
            inputs=inputs,
            defaults={
                "contact_name": contact.full_name[:200],
                "subject": subject[:200],
                "description": description,
                "asked_by": by,
            },
        )
        if created:
            outbox_follow_up(follow_up=follow_up)
    return FollowUpAsked(follow_up=follow_up, created=created)
