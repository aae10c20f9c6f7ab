"""$batch: operations, change sets, the multipart request and the parsing of its response.

Format (Microsoft's "Execute batch operations using the Web API", OData 4.0 §11.7): a
`multipart/mixed` body; each operation is an `application/http` part holding a raw HTTP request;
a change set is a nested `multipart/mixed` part whose operations succeed or fail together and
may refer to rows created earlier in the same change set as `$<Content-ID>`.

The response mirrors the request: one part per top-level item. A change set that succeeded
answers with a nested multipart (one part per operation, with its Content-ID); a change set that
failed answers with a single error part (its operations were rolled back), either on its own or
inside a change set response. Without `Prefer: odata.continue-on-error` Dataverse stops at the
first failure and answers only up to it; the batch itself then answers 400 ("Handling errors":
the failing part keeps its own status, 404 or 412 included).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from .errors import (
    ApiError,
    DuplicateRecord,
    DynamicsError,
    MalformedResponse,
    error_from_response,
)
from .http import JsonObject
from .odata import guid

MAX_OPERATIONS_PER_BATCH = 1000

_ENTITY_ID = re.compile(
    r"\(\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\)\s*$"
)


class OperationOptions(TypedDict, total=False):
    """The optional fields of an Operation that its helpers (`Operation.create`...) pass on."""

    headers: dict[str, str] | None
    content_id: str | None


@dataclass
class Operation:
    """One request inside a $batch.

    `url_path` is relative to the Web API root (`tasks`, `tasks(<guid>)`, or `$1` to refer to a
    row created earlier in the same change set). `row_id` is the row the operation is about when
    known; it is reported back in the result. Use the helpers to build common operations.
    """

    method: str
    url_path: str
    body: JsonObject | None = None
    headers: dict[str, str] | None = None
    content_id: str | None = None
    row_id: str | None = None

    @property
    def entity_set(self) -> str | None:
        if self.url_path.startswith("$"):
            return None
        return self.url_path.split("(", 1)[0].split("?", 1)[0].split("/", 1)[0] or None

    @property
    def is_create_with_id(self) -> bool:
        return (self.headers or {}).get("If-None-Match") == "*" and self.row_id is not None

    @classmethod
    def create(
        cls,
        entity_set: str,
        body: JsonObject,
        row_id: str | None = None,
        **extra: Unpack[OperationOptions],
    ) -> Operation:
        """Create a row. With `row_id` the request is a create-only upsert
        (`PATCH set(id)` + `If-None-Match: *`), so sending it twice cannot make two rows:
        the second answer is 412 DuplicateRecord."""
        if row_id is None:
            return cls("POST", entity_set, body=body, **extra)
        headers = {"If-None-Match": "*", **(extra.get("headers") or {})}
        row_id = guid(row_id)
        extra = extra | {"headers": headers}
        return cls("PATCH", f"{entity_set}({row_id})", body, row_id=row_id, **extra)

    @classmethod
    def update(
        cls,
        entity_set: str,
        row_id: str,
        body: JsonObject,
        if_match: str = "*",
        **extra: Unpack[OperationOptions],
    ) -> Operation:
        """Update an existing row (`If-Match: *` stops PATCH from creating a missing row)."""
        headers = {"If-Match": if_match, **(extra.get("headers") or {})}
        row_id = guid(row_id)
        extra = extra | {"headers": headers}
        return cls("PATCH", f"{entity_set}({row_id})", body, row_id=row_id, **extra)

    @classmethod
    def upsert(
        cls, entity_set: str, row_id: str, body: JsonObject, **extra: Unpack[OperationOptions]
    ) -> Operation:
        """Create the row if absent, update it if present."""
        row_id = guid(row_id)
        return cls("PATCH", f"{entity_set}({row_id})", body, row_id=row_id, **extra)

    @classmethod
    def delete(cls, entity_set: str, row_id: str, **extra: Unpack[OperationOptions]) -> Operation:
        row_id = guid(row_id)
        return cls("DELETE", f"{entity_set}({row_id})", row_id=row_id, **extra)

    @classmethod
    def get(
        cls,
        entity_set: str,
        row_id: str | None = None,
        query: str = "",
        **extra: Unpack[OperationOptions],
    ) -> Operation:
        """Read one row (with `row_id`) or a collection; `query` is an OData query string."""
        row_id = guid(row_id) if row_id else None
        path = f"{entity_set}({row_id})" if row_id else entity_set
        return cls("GET", f"{path}?{query}" if query else path, row_id=row_id, **extra)


@dataclass
class ChangeSet:
    """Operations that succeed or fail together (one database transaction). No GETs."""

    operations: list[Operation] = field(default_factory=list)

    def __post_init__(self) -> None:
        for operation in self.operations:
            if operation.method == "GET":
                raise ValueError("a change set cannot contain GET operations")


@dataclass
class OperationResult:
    """What happened to one Operation of a batch.

    `status` is None when the operation was never executed (an earlier failure stopped the
    batch). `row_id` comes from the OData-EntityId header, the body, or the operation itself.
    `already_existed` marks a create with a client-chosen id that found its row already there
    after the batch had to be re-sent: the first send created it, the answer was lost.
    """

    status: int | None
    ok: bool
    row_id: str | None
    error: DynamicsError | None
    body: Any = None
    already_existed: bool = False


class RolledBack(ApiError):
    """This operation was undone because another operation in its change set failed."""


@dataclass
class _ResponsePart:
    status: int
    headers: dict[str, str]
    body: bytes
    content_id: str | None


def split_items(
    items: list[Operation | ChangeSet], limit: int = MAX_OPERATIONS_PER_BATCH
) -> list[list[Operation | ChangeSet]]:
    """Group items into batches of at most `limit` operations, never splitting a change set."""
    chunks: list[list[Operation | ChangeSet]] = []
    current: list[Operation | ChangeSet] = []
    size = 0
    for item in items:
        weight = len(item.operations) if isinstance(item, ChangeSet) else 1
        if weight > limit:
            raise ValueError(f"a change set has {weight} operations; the limit is {limit}")
        if size + weight > limit and current:
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += weight
    if current:
        chunks.append(current)
    return chunks


def encode_batch(
    items: list[Operation | ChangeSet], *, api_path: str, boundary: str | None = None
) -> tuple[str, bytes]:
    """Return (content type, body) of a $batch request.

    `api_path` is the Web API root path (`/api/data/v9.2/`); each part's request line uses
    the absolute path, as in Microsoft's examples. Operations in change sets get a Content-ID
    (unique within the batch) when they have none.
    """
    boundary = boundary or f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    next_content_id = 1
    used_ids = {
        op.content_id
        for item in items
        if isinstance(item, ChangeSet)
        for op in item.operations
        if op.content_id
    }
    for item in items:
        lines.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            changeset = f"changeset_{uuid.uuid4()}"
            lines.append(f'Content-Type: multipart/mixed; boundary="{changeset}"')
            lines.append("")
            for operation in item.operations:
                if not operation.content_id:
                    while str(next_content_id) in used_ids:
                        next_content_id += 1
                    operation.content_id = str(next_content_id)
                    used_ids.add(operation.content_id)
                lines.append(f"--{changeset}")
                lines.extend(_encode_operation(operation, api_path))
            lines.append(f"--{changeset}--")
            lines.append("")
        else:
            lines.extend(_encode_operation(item, api_path))
    lines.append(f"--{boundary}--")
    lines.append("")
    body = "\r\n".join(lines).encode("utf-8")
    return f'multipart/mixed; boundary="{boundary}"', body


def _encode_operation(operation: Operation, api_path: str) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if operation.content_id:
        lines.append(f"Content-ID: {operation.content_id}")
    lines.append("")
    target = (
        operation.url_path
        if operation.url_path.startswith("$")
        else (api_path + operation.url_path)
    )
    lines.append(f"{operation.method} {target} HTTP/1.1")
    headers = dict(operation.headers or {})
    if operation.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    lines.append("")
    if operation.body is not None:
        lines.append(json.dumps(operation.body, separators=(",", ":"), ensure_ascii=False))
    return lines


# -- response parsing -----------------------------------------------------------------------


def _boundary_of(content_type: str) -> str | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    return match.group(1).strip() if match else None


def _split_multipart(text: str, boundary: str, *, url: str, where: str) -> list[str]:
    """Return the parts between `--boundary` delimiters; require the closing delimiter."""
    delimiter = f"--{boundary}"
    pieces = text.split(delimiter)
    if len(pieces) < 2:
        raise MalformedResponse(f"{where}: no part starts with the boundary {boundary!r}", url=url)
    parts: list[str] = []
    for piece in pieces[1:]:
        if piece.startswith("--"):
            return parts
        parts.append(piece.strip("\n"))
    raise MalformedResponse(
        f"{where}: the closing boundary is missing (truncated response?)", url=url
    )


def _split_head(block: str) -> tuple[dict[str, str], str]:
    head, _, rest = block.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


def _parse_http_part(part: str, *, url: str, where: str) -> _ResponsePart:
    try:
        part_headers, message = _split_head(part)
        status_line, _, rest = message.lstrip("\n").partition("\n")
        match = re.match(r"HTTP/\d(?:\.\d)?\s+(\d{3})", status_line)
        if not match:
            raise ValueError(f"no HTTP status line (found {status_line[:60]!r})")
        headers, body = _split_head(rest) if rest.strip() else ({}, "")
    except ValueError as exc:
        raise MalformedResponse(f"{where}: {exc}", url=url) from None
    return _ResponsePart(
        status=int(match.group(1)),
        headers=headers,
        body=body.strip("\n").encode("utf-8"),
        content_id=part_headers.get("content-id"),
    )


def parse_batch_response(
    content: bytes, content_type: str, *, url: str
) -> list[_ResponsePart | list[_ResponsePart]]:
    """Parse a $batch response into one entry per top-level part, in order.

    An entry is a `_ResponsePart`, or a list of them for a change set that succeeded.
    """
    boundary = _boundary_of(content_type)
    if "multipart/mixed" not in content_type.lower() or not boundary:
        raise MalformedResponse(
            f"the $batch response is not multipart/mixed with a boundary "
            f"(Content-Type {content_type or 'missing'!r})",
            url=url,
        )
    try:
        text = content.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise MalformedResponse(f"the $batch response is not UTF-8: {exc}", url=url) from None
    entries: list[_ResponsePart | list[_ResponsePart]] = []
    for number, part in enumerate(
        _split_multipart(text, boundary, url=url, where="$batch response"), start=1
    ):
        where = f"$batch response part {number}"
        try:
            part_headers, inner = _split_head(part)
        except ValueError as exc:
            raise MalformedResponse(f"{where}: {exc}", url=url) from None
        part_type = part_headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            inner_boundary = _boundary_of(part_type)
            if not inner_boundary:
                raise MalformedResponse(f"{where}: change set part without a boundary", url=url)
            entries.append(
                [
                    _parse_http_part(sub, url=url, where=f"{where}, operation {index}")
                    for index, sub in enumerate(
                        _split_multipart(inner, inner_boundary, url=url, where=where), start=1
                    )
                ]
            )
        elif part_type.lower().startswith("application/http"):
            entries.append(_parse_http_part(part, url=url, where=where))
        else:
            raise MalformedResponse(
                f"{where}: unexpected Content-Type {part_type or 'missing'!r}", url=url
            )
    return entries


def results_for(
    items: list[Operation | ChangeSet],
    entries: list[_ResponsePart | list[_ResponsePart]],
    *,
    url: str,
    resent: bool,
) -> list[OperationResult]:
    """Match parsed response entries to the operations, one OperationResult per operation.

    `resent` says the batch had to be sent more than once; a create-with-id that then finds its
    row already there is reported as `ok` with `already_existed=True`.
    """
    if len(entries) > len(items):
        raise MalformedResponse(
            f"the $batch response has {len(entries)} parts for {len(items)} requests", url=url
        )
    results: list[OperationResult] = []
    for position, item in enumerate(items):
        entry = entries[position] if position < len(entries) else None
        operations = item.operations if isinstance(item, ChangeSet) else [item]
        if entry is None:
            results.extend(_not_executed(operation, url) for operation in operations)
        elif isinstance(entry, list) and _is_failed_changeset(operations, entry):
            results.extend(_failed_changeset_results(operations, entry[0], url=url, resent=resent))
        elif isinstance(entry, list):
            results.extend(_changeset_results(operations, entry, url=url, resent=resent))
        elif isinstance(item, ChangeSet):
            results.extend(_failed_changeset_results(operations, entry, url=url, resent=resent))
        else:
            results.append(_result(item, entry, url=url, resent=resent))
    return results


def _is_failed_changeset(operations: list[Operation], parts: list[_ResponsePart]) -> bool:
    """A failed change set may also come wrapped as a change set response holding only the
    error part."""
    return len(parts) == 1 and len(operations) > 1 and not 200 <= parts[0].status < 300


def _changeset_results(
    operations: list[Operation], parts: list[_ResponsePart], *, url: str, resent: bool
) -> list[OperationResult]:
    if len(parts) != len(operations):
        raise MalformedResponse(
            f"a change set response has {len(parts)} parts for {len(operations)} operations",
            url=url,
        )
    by_content_id = {part.content_id: part for part in parts if part.content_id}
    results = []
    for index, operation in enumerate(operations):
        matched = by_content_id.get(operation.content_id) if operation.content_id else None
        part = matched or parts[index]
        results.append(_result(operation, part, url=url, resent=resent))
    return results


def _failed_changeset_results(
    operations: list[Operation], part: _ResponsePart, *, url: str, resent: bool
) -> list[OperationResult]:
    """A failed change set answers with one error; every operation in it was rolled back."""
    culprit = next((op for op in operations if op.content_id == part.content_id), None)
    results = []
    for operation in operations:
        if culprit is None or operation is culprit:
            results.append(_result(operation, part, url=url, resent=resent))
        else:
            error = RolledBack(
                "Rolled back because another operation in its change set failed.",
                status=part.status,
                url=_operation_url(operation, url),
                table=operation.entity_set,
                method=operation.method,
            )
            results.append(OperationResult(part.status, False, operation.row_id, error))
    return results


def _not_executed(operation: Operation, url: str) -> OperationResult:
    error = ApiError(
        "Not executed because an earlier operation in the $batch failed.",
        url=_operation_url(operation, url),
        table=operation.entity_set,
        method=operation.method,
    )
    return OperationResult(None, False, operation.row_id, error)


def _result(
    operation: Operation, part: _ResponsePart, *, url: str, resent: bool
) -> OperationResult:
    body: Any = None
    if part.body:
        try:
            body = json.loads(part.body)
        except ValueError:
            if 200 <= part.status < 300:
                raise MalformedResponse(
                    f"the answer to {operation.method} {operation.url_path} in the $batch is not "
                    "JSON",
                    url=url,
                ) from None
            body = part.body.decode("utf-8", "replace")
    if 200 <= part.status < 300:
        return OperationResult(part.status, True, _row_id_of(operation, part, body), None, body)
    error = error_from_response(
        status=part.status,
        body=part.body,
        headers=part.headers,
        url=_operation_url(operation, url),
        method=operation.method,
        table=operation.entity_set,
        request_headers=operation.headers,
    )
    if resent and operation.is_create_with_id and isinstance(error, DuplicateRecord):
        return OperationResult(part.status, True, operation.row_id, None, body, True)
    return OperationResult(part.status, False, operation.row_id, error, body)


def _operation_url(operation: Operation, batch_url: str) -> str:
    """The URL an operation addresses, so its error says which row or table failed (and maps
    a 404 on a row to NotFound). `$n` references stay with the batch URL."""
    if operation.url_path.startswith("$"):
        return batch_url
    return batch_url.removesuffix("$batch") + operation.url_path


def _row_id_of(operation: Operation, part: _ResponsePart, body: Any) -> str | None:
    entity_id = part.headers.get("odata-entityid") or part.headers.get("location")
    if entity_id:
        match = _ENTITY_ID.search(entity_id)
        if match:
            return match.group(1).lower()
    return operation.row_id
