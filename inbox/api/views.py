"""The mobile API's endpoints (``/api/v1/``); ``schema.py`` describes each of them.

Like the pages, they are thin: parse, validate with the pages' forms, call one service, answer
with a payload. Everything is scoped to the token's seat: another seat's objects are 404.
*Retry* on a message or note is the writeback's (``writeback.api_views``), in the same API.
"""

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt

from inbox.access import get_message, get_note, get_thread
from inbox.api.http import ApiError, endpoint, invalid_fields, json_body
from inbox.api.payloads import member_payload, message_payload, note_payload, thread_payload
from inbox.api.schema import openapi_document
from inbox.forms import ComposeForm, NoteOnForm, ReplyForm
from inbox.models import Thread
from inbox.selectors import copy_choices_get, message_list, note_list, thread_list
from inbox.services import (
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

PAGE_SIZE = 25
_COPY = {"copy_to_crm": bool}


def _copy_wanted(request) -> bool:
    data = json_body(request, _COPY)
    if "copy_to_crm" not in data:
        raise invalid_fields({"copy_to_crm": ["This field is required."]})
    return data["copy_to_crm"]


def _page(request, paginator: Paginator):
    try:
        return paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        raise invalid_fields({"page": ["Must be a whole number."]}) from None
    except EmptyPage:
        pages = paginator.num_pages
        raise invalid_fields({"page": [f"Must be between 1 and {pages}."]}) from None


def _thread_answer(request, thread: Thread, status: int = 200) -> JsonResponse:
    messages = list(message_list(thread=thread))
    choices = copy_choices_get(seat=request.seat)
    return JsonResponse(thread_payload(thread, choices, messages), status=status)


@endpoint("GET", "POST")
def threads(request):
    """GET: the seat's threads, latest first, a page at a time. POST: a new InMail or message."""
    if request.method == "POST":
        return _thread_start(request)
    paginator = Paginator(thread_list(seat=request.seat), PAGE_SIZE)
    page = _page(request, paginator)
    choices = copy_choices_get(seat=request.seat)
    return JsonResponse(
        {
            "results": [thread_payload(thread, choices) for thread in page.object_list],
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "next": (
                request.build_absolute_uri(f"?page={page.next_page_number()}")
                if page.has_next()
                else None
            ),
        }
    )


def _thread_start(request) -> JsonResponse:
    fields = {"kind": str, "member_id": int, "subject": str, "body": str, **_COPY}
    data = json_body(request, fields)
    kind = data.get("kind")
    if kind not in Thread.Kind.values:
        raise invalid_fields({"kind": ['Must be "inmail" or "message".']})
    if kind == Thread.Kind.MESSAGE and "subject" in data:
        raise invalid_fields({"subject": ["Only InMails have a subject."]})
    choices = copy_choices_get(seat=request.seat)
    data.setdefault("copy_to_crm", choices.default(kind))
    form = ComposeForm(data, kind=kind, copy_shown=choices.shows(kind))
    if not form.is_valid():
        raise invalid_fields(form.errors)
    message = message_compose(
        seat=request.seat,
        kind=kind,
        member=form.cleaned_data["member_id"],
        subject=form.cleaned_data.get("subject", ""),
        body=form.cleaned_data["body"],
        copy_to_crm=form.wants_copy,
    )
    return _thread_answer(request, get_thread(request, message.thread_id), status=201)


@endpoint("GET", "PATCH")
def thread_detail(request, pk: int):
    """GET: a thread and its messages (marks it read). PATCH: its *Copy thread to CRM*."""
    thread = get_thread(request, pk)
    if request.method == "PATCH":
        thread = thread_set_copy(thread=thread, copy_to_crm=_copy_wanted(request))
    else:
        thread_mark_read(thread=thread)
    return _thread_answer(request, thread)


@endpoint("POST")
def thread_reply(request, pk: int):
    """A reply in the thread; ``copy_to_crm`` defaults to the thread's *Copy thread to CRM*."""
    thread = get_thread(request, pk)
    data = json_body(request, {"body": str, **_COPY})
    data.setdefault("copy_to_crm", thread.copy_to_crm)
    choices = copy_choices_get(seat=request.seat)
    form = ReplyForm(data, copy_shown=choices.shows(thread.kind))
    if not form.is_valid():
        raise invalid_fields(form.errors)
    message = message_reply(
        thread=thread, body=form.cleaned_data["body"], copy_to_crm=form.wants_copy
    )
    message = get_message(request, message.pk)
    return JsonResponse(message_payload(message, choices), status=201)


@endpoint("GET", "PATCH")
def message_detail(request, pk: int):
    """GET: a message and its delivery. PATCH: its *Copy message to CRM*."""
    message = get_message(request, pk)
    if request.method == "PATCH":
        message_set_copy(message=message, copy_to_crm=_copy_wanted(request))
        message = get_message(request, pk)
    return JsonResponse(message_payload(message, copy_choices_get(seat=request.seat)))


def _note_target(request) -> dict:
    """The lead (``?member_id=``) or account (``?company_id=``) whose notes are listed."""
    member_id, company_id = request.GET.get("member_id"), request.GET.get("company_id")
    if bool(member_id) == bool(company_id):
        raise invalid_fields({"member_id": ["Give either member_id or company_id."]})
    try:
        if member_id:
            return {"member": get_object_or_404(Member, pk=int(member_id))}
        return {"company": get_object_or_404(Company, pk=int(company_id))}
    except ValueError:
        name = "member_id" if member_id else "company_id"
        raise invalid_fields({name: ["Must be a whole number."]}) from None


@endpoint("GET", "POST")
def notes(request):
    """GET: the seat's notes on a lead or an account. POST: a new note on one of them."""
    choices = copy_choices_get(seat=request.seat)
    if request.method == "GET":
        found = note_list(seat=request.seat, **_note_target(request))
        return JsonResponse({"results": [note_payload(note, choices) for note in found]})
    data = json_body(request, {"member_id": int, "company_id": int, "body": str, **_COPY})
    data.setdefault("copy_to_crm", choices.default("note"))
    form = NoteOnForm(data, copy_shown=choices.shows("note"))
    if not form.is_valid():
        raise invalid_fields(form.errors)
    note = note_create(
        seat=request.seat,
        member=form.cleaned_data["member_id"],
        company=form.cleaned_data["company_id"],
        body=form.cleaned_data["body"],
        copy_to_crm=form.wants_copy,
    )
    return JsonResponse(note_payload(get_note(request, note.pk), choices), status=201)


@endpoint("GET", "PATCH")
def note_detail(request, pk: int):
    """GET: a note and its delivery. PATCH: its *Copy to CRM*."""
    note = get_note(request, pk)
    if request.method == "PATCH":
        note_set_copy(note=note, copy_to_crm=_copy_wanted(request))
        note = get_note(request, pk)
    return JsonResponse(note_payload(note, copy_choices_get(seat=request.seat)))


@endpoint("GET")
def members(request):
    """Members to write to: the seat's saved leads, or those matching ``?q=``."""
    found = member_search(seat=request.seat, query=request.GET.get("q", ""))
    return JsonResponse({"results": [member_payload(member) for member in found]})


@endpoint("GET", public=True)
def openapi(request):
    """This API's OpenAPI 3.1 description."""
    return JsonResponse(openapi_document(server_url=request.build_absolute_uri("/api/v1")))


@csrf_exempt
@login_not_required
def unknown(request, rest: str):
    """Any other URL under the API: a JSON 404 rather than the pages' HTML one."""
    message = "There is no such endpoint; see /api/v1/openapi.json."
    return ApiError(404, "not_found", message).response()
