"""The mobile API's OpenAPI 3.1 description, written by hand and served at ``/api/v1/openapi.json``.

It describes the one API the app sees, including what the writeback serves in it: *Retry*
(``writeback.api_urls``) and each item's ``Delivery`` (``OutboxEntry.api_payload``). Those are
described here as text, not imported; the delivery states are read from the model behind the
``delivery`` relation. ``tests/writeback/test_api_schema.py`` checks that every route and method
served under ``/api/v1/`` is described here, so the two cannot drift apart.
"""

from inbox.models import MESSAGE_BODY_MAX, NOTE_BODY_MAX, Message


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    meanings = {
        400: "Bad JSON, or fields that are not valid (see `error.fields`).",
        401: "No token, or a token that is not valid or was revoked.",
        403: "The token's seat is Admin only: no seat-holder features.",
        404: "Not found, or not the token's seat's.",
        405: "Method not allowed on this URL (see the `Allow` header).",
        413: "The body is larger than the server accepts (2.5 MB by default).",
        415: "The body is not `application/json`.",
    }
    return {str(status): _json(_ref("Error"), meanings[status]) for status in statuses}


_READ = _errors(401, 403, 404, 405)
_WRITE = _errors(400, 401, 403, 404, 405, 413, 415)
_ID = [{"name": "pk", "in": "path", "required": True, "schema": {"type": "integer"}}]
_COPY_TO_CRM = {
    "type": "boolean",
    "description": "Copy to the CRM. Defaults to the seat holder's last choice for this type "
    "(replies: the thread's *Copy thread to CRM*). Ignored, and the item not copied, where "
    "`copy_available` is false: the admin does not copy this type.",
}
_COPY_TOGGLE = {
    "type": "object",
    "required": ["copy_to_crm"],
    "additionalProperties": False,
    "properties": {
        "copy_to_crm": {
            "type": "boolean",
            "description": "Tick or untick. Unticking before delivery withdraws the item; "
            "after delivery it removes the CRM activity.",
        }
    },
}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _delivery_states() -> list[str]:
    """What an item's delivery can be: the ``state`` choices of the model behind ``delivery``.

    ``Message.delivery`` is the reverse side of the writeback's one-to-one to the item, so the
    list follows the writeback's states without the inbox importing them.
    """
    entry = Message._meta.get_field("delivery").related_model
    return [value for value, _label in entry._meta.get_field("state").choices]


def _delivery_schema() -> dict:
    """An item's CRM copy, as ``OutboxEntry.api_payload`` makes it."""
    return {
        "type": ["object", "null"],
        "description": "The item's copy in the CRM; null when it was never ticked.",
        "properties": {
            "state": {"type": "string", "enum": _delivery_states()},
            "label": {"type": "string"},
            "activity_id": {"type": "string", "format": "uuid"},
            "attempts": {"type": "integer", "description": "Attempts at the current operation."},
            "next_attempt_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "When it is next tried (queued, retrying, removal requested).",
            },
            "error": {
                "type": ["object", "null"],
                "properties": {
                    "kind": {"type": "string"},
                    "reason": {"type": "string"},
                    "next_step": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
            "crm_url": {"type": ["string", "null"], "description": "The activity, once sent."},
            "written_open": {
                "type": ["boolean", "null"],
                "description": "True: no CRM record matched, an open task awaits resolution.",
            },
            "sent_at": {"type": ["string", "null"], "format": "date-time"},
        },
    }


_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "invalid_json",
                            "too_large",
                            "invalid_fields",
                            "invalid",
                            "unauthorized",
                            "forbidden",
                            "not_found",
                            "method_not_allowed",
                            "unsupported_media_type",
                        ],
                    },  # fmt: skip
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        "description": "Per field, what is wrong with it.",
                    },
                },
            }
        },
    },
    "Member": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "headline": {"type": "string"},
            "company": {"type": "string"},
            "company_id": {"type": ["integer", "null"]},
            "profile_url": {"type": "string"},
            "saved_lead": {"type": "boolean"},
        },
    },
    "Message": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "thread_id": {"type": "integer"},
            "direction": {"type": "string", "enum": ["sent", "received"]},
            "body": {"type": "string"},
            "sent_at": {"type": "string", "format": "date-time"},
            "copy_to_crm": {"type": "boolean"},
            "copy_available": {"type": "boolean"},
            "delivery": _ref("Delivery"),
        },
    },
    "ThreadSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["inmail", "message"]},
            "subject": {"type": "string"},
            "member": _ref("Member"),
            "copy_to_crm": {"type": "boolean", "description": "*Copy thread to CRM*."},
            "copy_available": {"type": "boolean"},
            "last_message_at": {"type": "string", "format": "date-time"},
            "read_at": {"type": ["string", "null"], "format": "date-time"},
            "last_message": {
                "type": "object",
                "properties": {"snippet": {"type": "string"}, "direction": {"type": "string"}},
            },
            "unread": {"type": "boolean"},
        },
    },
    "Thread": {
        "type": "object",
        "description": "A thread with all its messages (no `last_message` nor `unread`).",
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["inmail", "message"]},
            "subject": {"type": "string"},
            "member": _ref("Member"),
            "copy_to_crm": {"type": "boolean"},
            "copy_available": {"type": "boolean"},
            "last_message_at": {"type": "string", "format": "date-time"},
            "read_at": {"type": ["string", "null"], "format": "date-time"},
            "messages": {"type": "array", "items": _ref("Message")},
        },
    },
    "Note": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "member_id": {"type": ["integer", "null"]},
            "company_id": {"type": ["integer", "null"]},
            "about": {"type": "string"},
            "body": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "copy_to_crm": {"type": "boolean"},
            "copy_available": {"type": "boolean"},
            "delivery": _ref("Delivery"),
        },
    },
}

_PATHS = {
    "/threads": {
        "get": {
            "summary": "List the seat's threads, latest activity first",
            "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer"}}],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "results": {"type": "array", "items": _ref("ThreadSummary")},
                            "count": {"type": "integer"},
                            "page": {"type": "integer"},
                            "pages": {"type": "integer"},
                            "next": {"type": ["string", "null"]},
                        },
                    },
                    "A page of threads.",
                ),
                **_errors(400, 401, 403, 405),
            },
        },
        "post": {
            "summary": "Send a new InMail (a new thread) or message (into the conversation "
            "with the member, started if needed)",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["kind", "member_id", "body"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {"type": "string", "enum": ["inmail", "message"]},
                        "member_id": {"type": "integer"},
                        "subject": {"type": "string", "description": "InMails only; required."},
                        "body": {"type": "string", "maxLength": MESSAGE_BODY_MAX},
                        "copy_to_crm": _COPY_TO_CRM,
                    },
                }
            ),
            "responses": {
                "201": _json(_ref("Thread"), "The thread, with the new message."),
                **_WRITE,
            },
        },
    },
    "/threads/{pk}": {
        "parameters": _ID,
        "get": {
            "summary": "Read a thread and its messages (marks it read)",
            "responses": {"200": _json(_ref("Thread"), "The thread."), **_READ},
        },
        "patch": {
            "summary": "Tick or untick *Copy thread to CRM*: every message follows, and new ones",
            "requestBody": _body(_COPY_TOGGLE),
            "responses": {"200": _json(_ref("Thread"), "The thread."), **_WRITE},
        },
    },
    "/threads/{pk}/messages": {
        "parameters": _ID,
        "post": {
            "summary": "Reply in a thread",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["body"],
                    "additionalProperties": False,
                    "properties": {
                        "body": {"type": "string", "maxLength": MESSAGE_BODY_MAX},
                        "copy_to_crm": _COPY_TO_CRM,
                    },
                }
            ),
            "responses": {"201": _json(_ref("Message"), "The reply."), **_WRITE},
        },
    },
    "/messages/{pk}": {
        "parameters": _ID,
        "get": {
            "summary": "Read a message and its delivery state",
            "responses": {"200": _json(_ref("Message"), "The message."), **_READ},
        },
        "patch": {
            "summary": "Tick or untick *Copy message to CRM*",
            "requestBody": _body(_COPY_TOGGLE),
            "responses": {"200": _json(_ref("Message"), "The message."), **_WRITE},
        },
    },
    "/messages/{pk}/retry": {
        "parameters": _ID,
        "post": {
            "summary": "Retry a message whose copy failed",
            "responses": {"200": _json(_ref("Message"), "The message."), **_WRITE},
        },
    },
    "/notes": {
        "get": {
            "summary": "List the seat's notes on a lead or an account",
            "parameters": [
                {"name": "member_id", "in": "query", "schema": {"type": "integer"}},
                {"name": "company_id", "in": "query", "schema": {"type": "integer"}},
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"results": {"type": "array", "items": _ref("Note")}},
                    },
                    "The notes, newest first.",
                ),
                **_errors(400, 401, 403, 404, 405),
            },
        },
        "post": {
            "summary": "Write a note on a lead (member_id) or an account (company_id)",
            "requestBody": _body(
                {
                    "type": "object",
                    "required": ["body"],
                    "additionalProperties": False,
                    "properties": {
                        "member_id": {"type": "integer"},
                        "company_id": {"type": "integer"},
                        "body": {"type": "string", "maxLength": NOTE_BODY_MAX},
                        "copy_to_crm": _COPY_TO_CRM,
                    },
                }
            ),
            "responses": {"201": _json(_ref("Note"), "The note."), **_WRITE},
        },
    },
    "/notes/{pk}": {
        "parameters": _ID,
        "get": {
            "summary": "Read a note and its delivery state",
            "responses": {"200": _json(_ref("Note"), "The note."), **_READ},
        },
        "patch": {
            "summary": "Tick or untick *Copy to CRM* on a note",
            "requestBody": _body(_COPY_TOGGLE),
            "responses": {"200": _json(_ref("Note"), "The note."), **_WRITE},
        },
    },
    "/notes/{pk}/retry": {
        "parameters": _ID,
        "post": {
            "summary": "Retry a note whose copy failed",
            "responses": {"200": _json(_ref("Note"), "The note."), **_WRITE},
        },
    },
    "/members": {
        "get": {
            "summary": "Members to write to: the seat's saved leads, or those matching q",
            "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {"results": {"type": "array", "items": _ref("Member")}},
                    },
                    "Up to 20 members, saved leads first.",
                ),
                **_errors(401, 403, 405),
            },
        },
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "security": [],
            "responses": {"200": {"description": "The OpenAPI document."}},
        },
    },
}


def openapi_document(*, server_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CRM Sync mobile API",
            "version": "1",
            "description": "The seat holder's threads, messages and notes, and their copies "
            "in the CRM. Create a token on the portal's *Mobile app tokens* page and send it as "
            "`Authorization: Bearer <token>`. Bodies are JSON objects; unknown fields are refused.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**_SCHEMAS, "Delivery": _delivery_schema()},
        },
        "paths": _PATHS,
    }
