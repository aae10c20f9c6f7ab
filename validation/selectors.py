"""Reads for the Data validation page: the flags a seat may see, and what each row shows."""

from collections import defaultdict

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower

from common.lists import Sorts
from network.models import SavedLead
from seats.models import Seat
from sync.flags import flags_of_seat
from sync.models import ContactFlag, CrmAccount
from writeback.models import FollowUp

FLAG_SORTS = Sorts(
    {
        "contact": [Lower("contact__full_name"), "reason"],
        "account": [Lower("account_name"), Lower("contact__full_name")],
        "reason": ["reason", Lower("contact__full_name")],
        "flagged": ["updated_at"],
    },
    default="-flagged",
)
# Dismissed, and the flagged data is still what it was then (``ContactFlag.dismissed``).
_DISMISSED = ~Q(dismissed_inputs="") & Q(dismissed_inputs=F("inputs"))


def flags_list(
    *,
    seat: Seat,
    search: str = "",
    reason: str = "",
    owner: Seat | None = None,
    dismissed: bool = False,
    sort: str = "-flagged",
) -> QuerySet[ContactFlag]:
    """The flags ``seat`` sees: admins (Admin and Admin only) every one of the contract's, a
    seat holder those of the contacts they hold as Leads.

    ``owner`` narrows to one seat holder's Leads, ``reason`` to one rule; ``dismissed`` shows
    the dismissed flags instead of the others. Every word of ``search`` must appear in the
    contact's name or email, the account's name or the member's name. Sorted by ``sort``
    (``FLAG_SORTS``), with the contact, its member and the account's name.
    """
    flags = ContactFlag.objects.filter(contract_id=seat.contract_id)
    if not seat.is_admin:
        flags = flags.filter(flags_of_seat(seat))
    if owner is not None:
        flags = flags.filter(flags_of_seat(owner))
    if reason:
        flags = flags.filter(reason=reason)
    flags = flags.filter(_DISMISSED) if dismissed else flags.exclude(_DISMISSED)
    account = CrmAccount.objects.filter(
        contract_id=OuterRef("contract_id"), crm_id=OuterRef("contact__account_id")
    )
    flags = flags.annotate(account_name=Subquery(account.values("name")[:1]))
    for word in search.split()[:5]:
        flags = flags.filter(
            Q(contact__full_name__icontains=word)
            | Q(contact__email__icontains=word)
            | Q(account_name__icontains=word)
            | Q(contact__member__first_name__icontains=word)
            | Q(contact__member__last_name__icontains=word)
        )
    return flags.select_related("contact__member", "dismissed_by").order_by(
        *FLAG_SORTS.ordering(sort)
    )


def flags_decorate(*, seat: Seat, flags: list[ContactFlag]) -> list[ContactFlag]:
    """Give each flag of a page its ``owners`` (the seats holding the contact as a Lead; only
    ``seat`` for a seat holder) and ``follow_ups`` (the tasks asked for about the contact, with
    their delivery): 2 queries whatever the page's size."""
    member_ids = {flag.contact.member_id for flag in flags} - {None}
    leads = SavedLead.objects.filter(seat__contract_id=seat.contract_id, member_id__in=member_ids)
    if not seat.is_admin:
        leads = leads.filter(seat=seat)
    owners = defaultdict(list)
    for lead in leads.select_related("seat__user").order_by("seat__user__email"):
        owners[lead.member_id].append(lead.seat)
    follow_ups = defaultdict(list)
    asked = FollowUp.objects.filter(
        contract_id=seat.contract_id, contact_crm_id__in={flag.contact.crm_id for flag in flags}
    )
    if not seat.is_admin:
        asked = asked.filter(seat=seat)
    for follow_up in asked.select_related("seat__user", "delivery").order_by("-created_at"):
        follow_ups[follow_up.contact_crm_id].append(follow_up)
    for flag in flags:
        flag.owners = owners.get(flag.contact.member_id, [])
        flag.follow_ups = follow_ups.get(flag.contact.crm_id, [])
    return flags


def flag_owner_choices(*, seat: Seat) -> QuerySet[Seat]:
    """The seats whose Leads an admin can narrow the list to: the contract's seat holders."""
    return (
        Seat.objects.filter(contract_id=seat.contract_id, pk__in=SavedLead.objects.values("seat"))
        .select_related("user")
        .order_by("user__email")
    )
