"""`$batch`: multipart/mixed requests with change sets, as Dataverse implements OData 4.0.

    POST /api/data/v9.2/$batch
    Content-Type: multipart/mixed; boundary="batch_x"

    --batch_x
    Content-Type: multipart/mixed; boundary="changeset_y"      <- a change set (atomic)

    --changeset_y
    Content-Type: application/http
    Content-Transfer-Encoding: binary
    Content-ID: 1

    POST /api/data/v9.2/tasks HTTP/1.1
    Content-Type: application/json

    {"subject": "..."}
    --changeset_y
    ...
    PATCH $1 HTTP/1.1                                           <- $1: the row made by part 1
    --changeset_y--
    --batch_x
    Content-Type: application/http

    GET /api/data/v9.2/accounts?$select=name HTTP/1.1          <- GETs only outside change sets
    --batch_x--

Behaviour ("Handling errors" in Microsoft's "Execute batch operations using the Web API"): parts
run in order. Without `Prefer: odata.continue-on-error` the first failure stops the batch: the
batch answers `400 Bad Request` (the page's example; Microsoft's Python SDK accepts only 200 and
400 from `$batch`, so a part's 404 or 412 never becomes the batch's status) and its body holds
the parts answered so far plus the failing one with its own status. With the preference the
batch answers 200 and every part has its own status. A change set runs in one transaction: when
a part fails, the earlier parts roll back and the change set answers with that single error part
(OData 4.0, 11.7.4), carrying the failing part's Content-ID.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field

from .odata import Prefer
from .wire import INVALID_ARGUMENT, QUERY_ERROR, DataverseError, Request, Response

MAX_OPERATIONS = 1000
# The batch's own status when a failure stopped it (see the module docstring).
STOPPED_STATUS = 400
_API_PATH = "/api/data/v9.2/"
# "$1", "$a": a Content-ID reference (OData allows any identifier; Dataverse's docs use numbers).
_REFERENCE = re.compile(r"^\$(?!(?:batch|metadata|count|ref|value)\b)([A-Za-z0-9_.-]+)(/.*)?$")


@dataclass
class Operation:
    """One request inside a batch."""

    method: str
    url: str
    headers: dict[str, list[str]]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


def _bad_batch(message: str) -> DataverseError:
    return DataverseError(400, QUERY_ERROR, message)


def _boundary(content_type: str) -> str | None:
    match = re.search(r'boundary\s*=\s*"?([^";]+)"?', content_type or "", re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split_head(text: str) -> tuple[str, str]:
    """Split at the first blank line (CRLF or LF endings)."""
    match = re.search(r"\r?\n\r?\n", text)
    if not match:
        return text, ""
    return text[:match.start()], text[match.end():]


def _headers(text: str) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for line in re.split(r"\r?\n", text):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise _bad_batch(f"The batch part header line '{line}' is not 'Name: value'.")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return headers


def _parts(text: str, boundary: str) -> list[tuple[dict[str, list[str]], str]]:
    """The (headers, content) of each part of one multipart level."""
    pieces = re.split(r"(?:\r?\n)?--" + re.escape(boundary), text)
    if len(pieces) < 2:
        raise _bad_batch(f"The batch body has no part delimited by '--{boundary}'.")
    parts = []
    for piece in pieces[1:]:
        if piece.startswith("--"):
            break  # the close delimiter
        piece = re.sub(r"^[ \t]*\r?\n", "", piece, count=1)
        head, content = _split_head(piece)
        parts.append((_headers(head), content))
    return parts


def _operation(headers: dict[str, list[str]], content: str) -> Operation:
    content_type = (headers.get("content-type") or [""])[0].lower()
    if not content_type.startswith("application/http"):
        raise _bad_batch(f"A batch part must have Content-Type application/http, not "
                         f"'{content_type}'.")
    head, body = _split_head(content.lstrip("\r\n"))
    lines = re.split(r"\r?\n", head)
    request_line = lines[0].split()
    if len(request_line) < 2:
        raise _bad_batch(f"The batch part request line '{lines[0]}' is not 'METHOD URL "
                         "HTTP/1.1'.")
    body = re.sub(r"\r?\n$", "", body)
    content_id = (headers.get("content-id") or [None])[0]
    return Operation(request_line[0].upper(), request_line[1], _headers("\n".join(lines[1:])),
                     body.encode("utf-8"), content_id)


def parse_batch(body: bytes, content_type: str) -> list[Operation | ChangeSet]:
    boundary = _boundary(content_type)
    if not content_type.lower().startswith("multipart/mixed") or not boundary:
        raise _bad_batch("The $batch request must have Content-Type multipart/mixed with a "
                         "boundary.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad_batch("The $batch body is not UTF-8.") from error
    items: list[Operation | ChangeSet] = []
    for headers, content in _parts(text, boundary):
        content_type = (headers.get("content-type") or [""])[0]
        inner_boundary = _boundary(content_type)
        if content_type.lower().startswith("multipart/mixed") and inner_boundary:
            change_set = ChangeSet()
            seen: set[str] = set()
            for inner_headers, inner_content in _parts(content, inner_boundary):
                if _boundary((inner_headers.get("content-type") or [""])[0]):
                    raise _bad_batch("Change sets cannot be nested.")
                operation = _operation(inner_headers, inner_content)
                if operation.method == "GET":
                    raise _bad_batch("GET requests are not allowed inside a change set.")
                if operation.content_id in seen:
                    raise _bad_batch(f"The Content-ID '{operation.content_id}' is used twice "
                                     "in one change set.")
                if operation.content_id:
                    seen.add(operation.content_id)
                change_set.operations.append(operation)
            items.append(change_set)
        else:
            items.append(_operation(headers, content))
    count = sum(len(i.operations) if isinstance(i, ChangeSet) else 1 for i in items)
    if count > MAX_OPERATIONS:
        raise _bad_batch(f"The batch holds {count} requests; the maximum is {MAX_OPERATIONS}.")
    return items


# -- running ------------------------------------------------------------------------------------


def _resolve_url(url: str, references: dict[str, str]) -> tuple[str, str]:
    """(decoded path, raw query) of a part's URL; `$n` becomes the row created by part n."""
    reference = _REFERENCE.match(url)
    if reference:
        if reference.group(1) not in references:
            raise DataverseError(400, INVALID_ARGUMENT, f"Content-ID Reference: "
                                 f"'${reference.group(1)}' does not exist in the batch context.")
        url = references[reference.group(1)] + (reference.group(2) or "")
    split = urllib.parse.urlsplit(url)
    path = split.path
    if not path.startswith("/"):
        path = _API_PATH + path
    if path.endswith("/$batch"):
        raise _bad_batch("A batch cannot contain another batch.")
    return urllib.parse.unquote(path), split.query


def _resolve_body(body: bytes, references: dict[str, str]) -> bytes:
    """Replace "$n" values of `@odata.bind` / `@odata.id` properties with the row's path."""
    if not references or b"$" not in body:
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith(("@odata.bind", "@odata.id")) and isinstance(item, str):
                    match = _REFERENCE.match(item)
                    if match and match.group(1) in references:
                        value[key] = references[match.group(1)] + (match.group(2) or "")
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(document)
    return json.dumps(document).encode()


class _ChangeSetFailed(Exception):
    def __init__(self, operation: Operation, response: Response):
        super().__init__(response.status)
        self.operation = operation
        self.response = response


def run_batch(api, request: Request, caller) -> Response:
    """Execute a `$batch` request with the Web API `api` as `caller`."""
    items = parse_batch(request.body, request.header("content-type") or "")
    continue_on_error = Prefer.parse(request.header_values("prefer")).continue_on_error
    batch_boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[str] = []
    status = 200

    def execute(operation: Operation, references: dict[str, str]) -> Response:
        try:
            path, query = _resolve_url(operation.url, references)
            body = _resolve_body(operation.body, references)
        except DataverseError as error:
            return error.response()
        inner = Request(operation.method, path, query, operation.headers, body, request.base_url)
        return api.route(inner, caller)

    for item in items:
        if isinstance(item, Operation):
            response = execute(item, {})
            chunks.append(_render_part(batch_boundary, response, item.content_id))
            if response.status >= 400 and not continue_on_error:
                status = STOPPED_STATUS
                break
            continue
        references: dict[str, str] = {}
        done: list[tuple[Operation, Response]] = []
        try:
            with api.store.write():
                for operation in item.operations:
                    response = execute(operation, references)
                    if response.status >= 400:
                        raise _ChangeSetFailed(operation, response)
                    done.append((operation, response))
                    if operation.content_id:
                        references[operation.content_id] = _entity_path(operation, response,
                                                                        references)
        except _ChangeSetFailed as failed:
            chunks.append(_render_part(batch_boundary, failed.response,
                                       failed.operation.content_id))
            if not continue_on_error:
                status = STOPPED_STATUS
                break
            continue
        change_boundary = f"changesetresponse_{uuid.uuid4()}"
        inner = "".join(_render_part(change_boundary, r, o.content_id) for o, r in done)
        chunks.append(f"--{batch_boundary}\r\nContent-Type: multipart/mixed; "
                      f"boundary={change_boundary}\r\n\r\n{inner}--{change_boundary}--\r\n")

    body = "".join(chunks) + f"--{batch_boundary}--\r\n"
    headers = [("Content-Type", f"multipart/mixed; boundary={batch_boundary}")]
    if continue_on_error:
        headers.append(("Preference-Applied", "odata.continue-on-error"))
    return Response(status, body.encode("utf-8"), headers)


def _entity_path(operation: Operation, response: Response, references: dict[str, str]) -> str:
    """The path `$n` stands for: the created row, or the row the part addressed."""
    entity_id = response.header("OData-EntityId")
    if entity_id:
        return urllib.parse.urlsplit(entity_id).path
    path, _ = _resolve_url(operation.url, references)
    return path


def _render_part(boundary: str, response: Response, content_id: str | None) -> str:
    lines = [f"--{boundary}", "Content-Type: application/http",
             "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {response.status} {response.reason}"]
    entity_id = response.header("OData-EntityId")
    for name, value in response.headers:
        lines.append(f"{name}: {value}")
    if entity_id and not response.header("Location"):
        lines.append(f"Location: {entity_id}")
    lines += ["", response.body.decode("utf-8")]
    return "\r\n".join(lines) + "\r\n"
