"""Reads for the Inbox, a thread, notes, the mobile app's tokens and the API, each page a fixed
number of queries."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Substr

from common.expressions import latest_of
from crm_settings.selectors import crm_connection_get, crm_settings_get
from inbox.models import CopyPreference, Message, Note, Thread
from network.models import Company, Member
from seats.models import ApiToken, Seat, User

SNIPPET_LENGTH = 160
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CopyChoices:
    """The copy checkboxes as a seat holder sees them now.

    ``shown``: the item types the contract copies; the others show no checkbox. ``remembered``:
    the seat holder's last choice per type. A shown type without one starts ticked: the admin
    chose to copy it, and the guide recommends syncing back all items. ``connected``: whether the
    contract is connected, so a queued item can say what it waits for.
    """

    shown: frozenset[str]
    remembered: dict[str, bool]
    connected: bool

    def shows(self, item_type: str) -> bool:
        return item_type in self.shown

    def default(self, item_type: str) -> bool:
        return self.shows(item_type) and self.remembered.get(item_type, True)


def copy_choices_get(*, seat: Seat) -> CopyChoices:
    return CopyChoices(
        shown=frozenset(crm_settings_get(contract=seat.contract).writeback_types()),
        remembered=dict(
            CopyPreference.objects.filter(seat=seat).values_list("item_type", "copy_to_crm")
        ),
        connected=crm_connection_get(contract=seat.contract) is not None,
    )


def thread_list(*, seat: Seat) -> QuerySet[Thread]:
    """The seat's threads, latest activity first, each with its last message and unread flag."""
    last = Message.objects.filter(thread=OuterRef("pk")).order_by("-sent_at", "-pk")
    unread = Message.objects.filter(
        thread=OuterRef("pk"),
        direction=Message.Direction.RECEIVED,
        sent_at__gt=Coalesce(OuterRef("read_at"), Value(_NEVER)),
    )
    return (
        Thread.objects.filter(seat=seat)
        .select_related("member__company")
        .annotate(
            last_snippet=Subquery(
                last.annotate(snippet=Substr("body", 1, SNIPPET_LENGTH)).values("snippet")[:1]
            ),
            last_direction=Subquery(last.values("direction")[:1]),
            unread=Exists(unread),
        )
        .order_by("-last_message_at", "-pk")
    )


def message_list(*, thread: Thread) -> QuerySet[Message]:
    """A thread's messages, oldest first, each with its delivery (or None)."""
    # ``delivery``: the writeback's OutboxEntry, by its one-to-one's reverse name; selected, not
    # imported, so a page shows every item's CRM copy in one query (the inbox module map).
    return thread.messages.select_related("delivery").order_by("sent_at", "pk")


def note_list(
    *, seat: Seat, member: Member | None = None, company: Company | None = None
) -> QuerySet[Note]:
    """The seat's notes on one lead or one account, newest first, with their delivery."""
    # ``delivery`` as in ``message_list``.
    notes = Note.objects.filter(seat=seat).select_related("delivery", "member", "company")
    notes = notes.filter(member=member) if member is not None else notes.filter(company=company)
    return notes.order_by("-created_at", "-pk")


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at")


def saves_with_last_activity(*, saves: QuerySet, seat: Seat, kind: str) -> QuerySet:
    """The seat's saved Accounts (``kind="account"``) or Leads (``"lead"``) annotated with
    ``last_activity_at``: when the seat holder last wrote or received a message, or wrote a note,
    about the lead (its member) or the account (the company, or a member at it). None if never.

    Subqueries of the same query, so a page of the list costs the same queries at any size.
    """
    if kind == "account":
        threads = Thread.objects.filter(seat=seat, member__company=OuterRef("company_id"))
        notes = Note.objects.filter(seat=seat, company=OuterRef("company_id"))
    else:
        threads = Thread.objects.filter(seat=seat, member=OuterRef("member_id"))
        notes = Note.objects.filter(seat=seat, member=OuterRef("member_id"))
    last_message = threads.order_by("-last_message_at").values("last_message_at")[:1]
    last_note = notes.order_by("-created_at").values("created_at")[:1]
    return saves.annotate(last_activity_at=latest_of(Subquery(last_message), Subquery(last_note)))
