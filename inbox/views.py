"""The seat holder's pages: Inbox, threads, new InMails and messages, notes, their copy
checkboxes, and the mobile app's tokens.

Everything is the current seat's own: another seat's thread, message or note is a 404
(``get_for_seat``); Admin only seats get 403 (``seat_holder_required``).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_settings.models import WritebackType
from inbox.access import get_message, get_note, get_thread
from inbox.forms import ApiTokenForm, ComposeForm, NoteForm, ReplyForm, add_service_error
from inbox.models import Message, Note, Thread
from inbox.selectors import api_token_list, copy_choices_get, message_list, note_list, thread_list
from inbox.services import (
    api_token_create,
    api_token_revoke,
    message_compose,
    message_reply,
    message_set_copy,
    note_create,
    note_set_copy,
    thread_mark_read,
    thread_set_copy,
)
from network.models import Company, Member
from network.selectors import member_search
from seats.access import seat_holder_required
from seats.models import ApiToken

PAGE_SIZE = 50


def _status(request, form) -> int:
    # A page shown again with form errors says so (400). htmx only swaps successful answers, so
    # the panel it refreshes gets its errors with a 200.
    return 400 if form.errors and not request.htmx else 200


def _item_url(item: Message | Note) -> str:
    """The page an item is shown on."""
    if isinstance(item, Message):
        return reverse("inbox:thread", args=[item.thread_id])
    if item.member_id:
        return reverse("network:lead", args=[item.member_id])
    return reverse("network:account", args=[item.company_id])


@seat_holder_required
@require_GET
def inbox(request):
    """The seat holder's InMail and message threads, latest first."""
    page = Paginator(thread_list(seat=request.seat), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/inbox.html", {"page": page, "nav": "inbox"})


@seat_holder_required
@require_http_methods(["GET", "POST"])
def thread_detail(request, pk: int):
    """One thread: its messages with their copy checkboxes and delivery, and a reply form."""
    thread = get_thread(request, pk)
    choices = copy_choices_get(seat=request.seat)
    copy_shown = choices.shows(thread.kind)
    if request.method == "POST":
        form = ReplyForm(request.POST, copy_shown=copy_shown)
        if form.is_valid():
            try:
                message_reply(
                    thread=thread, body=form.cleaned_data["body"], copy_to_crm=form.wants_copy
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, "Your reply was sent.")
                return redirect("inbox:thread", thread.pk)
    else:
        form = ReplyForm(copy_shown=copy_shown, initial={"copy_to_crm": thread.copy_to_crm})
        thread_mark_read(thread=thread)
    context = {
        "thread": thread,
        "thread_messages": message_list(thread=thread),
        "form": form,
        "copy_shown": copy_shown,
        "choices": choices,
        "nav": "inbox",
    }
    return render(request, "inbox/thread.html", context, status=_status(request, form))


@seat_holder_required
@require_http_methods(["GET", "POST"])
def compose(request, kind: str):
    """*New InMail* or *New message*: pick a member (saved leads, or a search), then write.

    With htmx, the search swaps only the list of members, so nothing typed is lost.
    """
    choices = copy_choices_get(seat=request.seat)
    copy_shown = choices.shows(kind)
    if request.method == "POST":
        form = ComposeForm(request.POST, kind=kind, copy_shown=copy_shown)
        if form.is_valid():
            try:
                message = message_compose(
                    seat=request.seat,
                    kind=kind,
                    member=form.cleaned_data["member_id"],
                    subject=form.cleaned_data.get("subject", ""),
                    body=form.cleaned_data["body"],
                    copy_to_crm=form.wants_copy,
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"Your {Thread.Kind(kind).label} was sent.")
                return redirect("inbox:thread", message.thread_id)
    else:
        initial = {"member_id": request.GET.get("member_id"), "copy_to_crm": choices.default(kind)}
        form = ComposeForm(kind=kind, copy_shown=copy_shown, initial=initial)
    query = request.GET.get("q", "").strip()
    context = {
        "kind": kind,
        "kind_label": Thread.Kind(kind).label,
        "form": form,
        "query": query,
        "recipients": member_search(seat=request.seat, query=query),
        "chosen": _chosen_member(form),
        "nav": "inbox",
    }
    if request.htmx and request.method == "GET":
        return render(request, "inbox/_recipients.html", context)
    return render(request, "inbox/compose.html", context, status=_status(request, form))


def _chosen_member(form: ComposeForm) -> Member | None:
    value = form["member_id"].value()
    if isinstance(value, Member):
        return value
    try:
        return Member.objects.select_related("company").filter(pk=int(value)).first()
    except (TypeError, ValueError):
        return None


def _notes(request, *, member: Member | None = None, company: Company | None = None):
    """The notes panel of a lead or an account: the seat's notes there, and a form for one more.

    The lead and account pages load it with htmx; without htmx it is a page of its own.
    """
    choices = copy_choices_get(seat=request.seat)
    copy_shown = choices.shows(WritebackType.NOTE)
    if request.method == "POST":
        form = NoteForm(request.POST, copy_shown=copy_shown)
        if form.is_valid():
            try:
                note_create(
                    seat=request.seat,
                    member=member,
                    company=company,
                    body=form.cleaned_data["body"],
                    copy_to_crm=form.wants_copy,
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                if not request.htmx:
                    messages.success(request, "Your note was saved.")
                    return redirect(request.path)
                form = NoteForm(copy_shown=copy_shown, initial={"copy_to_crm": form.wants_copy})
    else:
        initial = {"copy_to_crm": choices.default(WritebackType.NOTE)}
        form = NoteForm(copy_shown=copy_shown, initial=initial)
    context = {
        "notes": note_list(seat=request.seat, member=member, company=company),
        "form": form,
        "copy_shown": copy_shown,
        "choices": choices,
        "member": member,
        "company": company,
        "about": member.full_name if member else company.name,
        "nav": "leads" if member else "accounts",
    }
    template = "inbox/_notes_panel.html" if request.htmx else "inbox/notes.html"
    return render(request, template, context, status=_status(request, form))


@seat_holder_required
@require_http_methods(["GET", "POST"])
def lead_notes(request, member_id: int):
    return _notes(request, member=get_object_or_404(Member, pk=member_id))


@seat_holder_required
@require_http_methods(["GET", "POST"])
def account_notes(request, company_id: int):
    return _notes(request, company=get_object_or_404(Company, pk=company_id))


def copy_control_render(request, item: Message | Note, *, error: str = ""):
    """The answer to a tick, untick or Retry: the item's checkbox and delivery, or its page."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(_item_url(item))
    choices = copy_choices_get(seat=request.seat)
    context = {
        "item": item,
        "is_note": isinstance(item, Note),
        "copy_shown": choices.shows(item.item_type),
        "choices": choices,
        "error": error,
    }
    return render(request, "inbox/_copy_control.html", context)


def _wants_copy(request) -> bool:
    return request.POST.get("copy_to_crm") in {"on", "true", "1"}


def _copy_toggle(request, pk: int, fetch, set_copy):
    """The copy control of the seat holder's message or note ``pk`` (``fetch`` finds it, or
    404s): its state on GET; on POST, ``set_copy(item, ticked)`` then its reloaded state, with
    the rule's message when the change was refused."""
    item = fetch(request, pk)
    if request.method == "GET":
        return copy_control_render(request, item)
    error = ""
    try:
        set_copy(item, _wants_copy(request))
    except ValidationError as exc:
        error = exc.messages[0]
    return copy_control_render(request, fetch(request, pk), error=error)


@seat_holder_required
@require_http_methods(["GET", "POST"])
def message_copy(request, pk: int):
    """*Copy message to CRM* ticked or unticked (POST); its current state (GET, polled by htmx)."""
    return _copy_toggle(
        request, pk, get_message, lambda item, on: message_set_copy(message=item, copy_to_crm=on)
    )


@seat_holder_required
@require_http_methods(["GET", "POST"])
def note_copy(request, pk: int):
    """*Copy to CRM* ticked or unticked on a note (POST); its current state (GET, polled)."""
    return _copy_toggle(
        request, pk, get_note, lambda item, on: note_set_copy(note=item, copy_to_crm=on)
    )


@seat_holder_required
@require_POST
def thread_copy(request, pk: int):
    """*Copy thread to CRM*: answers with the whole list of messages, since all of them follow."""
    thread = get_thread(request, pk)
    error = ""
    try:
        thread = thread_set_copy(thread=thread, copy_to_crm=_wants_copy(request))
    except ValidationError as exc:
        error = exc.messages[0]
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("inbox:thread", thread.pk)
    choices = copy_choices_get(seat=request.seat)
    context = {
        "thread": thread,
        "thread_messages": message_list(thread=thread),
        "copy_shown": choices.shows(thread.kind),
        "choices": choices,
        "error": error,
    }
    return render(request, "inbox/_thread_messages.html", context)


@never_cache
@seat_holder_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    """*Mobile app tokens*: one per device; a new token is shown once, on this answer only."""
    new_token = ""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, new_token = api_token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": api_token_list(user=request.user),
    }
    return render(request, "inbox/api_tokens.html", context, status=_status(request, form))


@seat_holder_required
@require_POST
def revoke_api_token(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    api_token_revoke(token=token)
    messages.success(request, f"The token “{token.name}” was revoked: that device is signed out.")
    return redirect("inbox:api_tokens")
