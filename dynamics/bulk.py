"""Many rows of one table in one request: Dataverse's bulk operation messages, with a `$batch`
fallback for the tables that lack them.

Microsoft's "Use bulk operation messages" page is the source of every rule here:

- `POST {set}/Microsoft.Dynamics.CRM.CreateMultiple` (`UpdateMultiple`, `UpsertMultiple`) with
  `{"Targets": [...]}`; "You must set the `@odata.type` property for each item", so each target
  gets `Microsoft.Dynamics.CRM.<logical name>`. CreateMultiple answers `{"Ids": [...]}`.
- On standard tables "Any error ... causes the entire operation to roll back": a failing chunk
  writes nothing. Chunks sent before it stay written; `BulkWriteFailed.written_ids` names them.
- "There's no set limit on the number of records ... 1,000 records per request is a reasonable
  place to start ... include the ability to configure the number of entities sent": chunks of
  `chunk_size` (default 1,000).
- "Not all standard tables support these messages ... You should test whether individual
  standard tables support these messages." The first answer that says the table lacks the
  message (`0x80040800` "The 'CreateMultiple' method does not support entities of type ...",
  "... is not enabled on the entity", or a 404 for the action segment on an org without it) is
  remembered per entity set for the client's life, and that chunk and every later one go
  through `$batch`: one change set per chunk, so the all-or-nothing rule holds there too.
  (The fallback the page suggests: "use ... Web API `$batch` to allow the set of operations to
  fall back if the bulk operation fails".)

Each table's logical name and primary key come from its EntityDefinition, read once per entity
set. Rows without a primary key get a client-chosen one, so the ids are known before sending and
a `$batch` fallback can be re-sent safely.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .batch import ChangeSet, Operation, OperationResult, RolledBack
from .errors import (
    ApiError,
    DynamicsError,
    MissingObjectError,
    ValidationFailed,
)
from .http import JsonObject, parse_json_object
from .odata import build_query, guid

if TYPE_CHECKING:
    from .client import DynamicsClient

BulkMessage = Literal["CreateMultiple", "UpdateMultiple", "UpsertMultiple"]

DEFAULT_CHUNK_SIZE = 1000  # the page's suggested starting point for standard tables
MAX_BATCH_OPERATIONS = 1000  # a $batch (and so a change set) holds at most 1,000 operations
UNSUPPORTED_MESSAGE = "0x80040800"
_ACTION = "Microsoft.Dynamics.CRM."


@dataclass(frozen=True)
class TableKeys:
    """What a bulk request needs to know about a table."""

    logical_name: str
    primary_id: str


@dataclass
class BulkResult:
    """The outcome of `create_many` / `update_many` / `upsert_many`.

    `ids` are the rows written, in input order. `requests` counts HTTP requests sent (bulk
    actions plus `$batch` posts, not counting the one metadata read per table). `used` says
    which way each chunk went: the message name, or "$batch" for the fallback.
    """

    ids: list[str] = field(default_factory=list)
    requests: int = 0
    used: list[str] = field(default_factory=list)


class BulkWriteFailed(ApiError):
    """A chunk failed and was rolled back as a whole; `cause` is the first record's error.

    `written_ids` are the rows of earlier chunks, which stay written.
    """

    def __init__(self, cause: DynamicsError, *, written_ids: list[str], chunk: int):
        super().__init__(
            f"{cause.message} (chunk {chunk} rolled back; {len(written_ids)} rows of earlier "
            "chunks stay written)",
            status=cause.status,
            code=cause.code,
            url=cause.url,
            table=cause.table,
            method=cause.method,
            retryable=cause.retryable,
            retry_after=cause.retry_after,
        )
        self.cause = cause
        self.written_ids = written_ids
        self.chunk = chunk


def is_unsupported_answer(error: DynamicsError, message: str) -> bool:
    """Whether a bulk action's error answer means the table (or org) lacks the message."""
    text = error.message.lower()
    if error.code == UNSUPPORTED_MESSAGE or "does not support entities of type" in text:
        return True
    if "is not enabled on the entity" in text:
        return True
    # An org without the action at all answers 404 for the segment.
    return isinstance(error, MissingObjectError) and message.lower() in text


class BulkWriter:
    """Bulk writes for one DynamicsClient; remembers per entity set what the org supports."""

    def __init__(self, client: DynamicsClient):
        self._client = client
        self._keys: dict[str, TableKeys] = {}
        self._unsupported: set[tuple[str, str]] = set()

    def supports(self, entity_set: str, message: str) -> bool | None:
        """What the client has learnt: False once the org said no, None while not yet tried."""
        return False if (entity_set, message) in self._unsupported else None

    def write(
        self,
        message: BulkMessage,
        entity_set: str,
        rows: Sequence[JsonObject],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        caller_object_id: str | None = None,
    ) -> BulkResult:
        """Send `rows` in chunks with `message`, falling back to `$batch` where unsupported."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        keys = self.table_keys(entity_set)
        targets = [self._target(message, keys, row) for row in rows]
        result = BulkResult()
        for index, start in enumerate(range(0, len(targets), chunk_size)):
            chunk = targets[start : start + chunk_size]
            try:
                self._send_chunk(message, entity_set, keys, chunk, result, caller_object_id)
            except DynamicsError as error:
                raise BulkWriteFailed(error, written_ids=list(result.ids), chunk=index) from error
        return result

    def table_keys(self, entity_set: str) -> TableKeys:
        """The table's logical name and primary key, read once from its EntityDefinition."""
        if entity_set not in self._keys:
            query = build_query(
                select=["LogicalName", "EntitySetName", "PrimaryIdAttribute"],
                filter=f"EntitySetName eq '{entity_set}'",
            )
            body = self._client._get_json(f"EntityDefinitions?{query}")
            found = [
                item
                for item in body.get("value") or []
                if isinstance(item, dict) and item.get("EntitySetName") == entity_set
            ]
            if not found:
                raise MissingObjectError(
                    f"no table has the entity set '{entity_set}'", table=entity_set
                )
            self._keys[entity_set] = TableKeys(
                logical_name=str(found[0]["LogicalName"]),
                primary_id=str(found[0]["PrimaryIdAttribute"]),
            )
        return self._keys[entity_set]

    # -- pieces ---------------------------------------------------------------------------

    @staticmethod
    def _target(message: BulkMessage, keys: TableKeys, row: JsonObject) -> JsonObject:
        target = dict(row)
        if target.get(keys.primary_id) is None:
            if message == "UpdateMultiple":
                raise ValueError(f"every row of update_many needs its '{keys.primary_id}'")
            target[keys.primary_id] = str(uuid.uuid4())
        target[keys.primary_id] = guid(str(target[keys.primary_id]))
        target["@odata.type"] = f"{_ACTION}{keys.logical_name}"
        return target

    def _send_chunk(
        self,
        message: BulkMessage,
        entity_set: str,
        keys: TableKeys,
        chunk: list[JsonObject],
        result: BulkResult,
        caller_object_id: str | None,
    ) -> None:
        ids = [str(target[keys.primary_id]) for target in chunk]
        if (entity_set, message) not in self._unsupported:
            try:
                self._send_bulk(message, entity_set, chunk, caller_object_id)
            except (ValidationFailed, MissingObjectError) as error:
                if not is_unsupported_answer(error, message):
                    result.requests += 1
                    raise
                self._unsupported.add((entity_set, message))
                result.requests += 1
            else:
                result.requests += 1
                result.used.append(message)
                result.ids.extend(ids)
                return
        for start in range(0, len(chunk), MAX_BATCH_OPERATIONS):
            part = chunk[start : start + MAX_BATCH_OPERATIONS]
            self._send_batch(message, entity_set, keys, part, caller_object_id)
            result.requests += 1
            result.used.append("$batch")
            result.ids.extend(str(target[keys.primary_id]) for target in part)

    def _send_bulk(
        self,
        message: BulkMessage,
        entity_set: str,
        chunk: list[JsonObject],
        caller_object_id: str | None,
    ) -> None:
        client = self._client
        client._transport.send(
            "POST",
            client._url(f"{entity_set}/{_ACTION}{message}"),
            headers=client._caller_headers(caller_object_id),
            body=_json_bytes({"Targets": chunk}),
            table=entity_set,
            # The ids are chosen here, so a re-sent CreateMultiple can only fail as a duplicate:
            # it is not repeated blindly. Updates and upserts may be.
            idempotent=message != "CreateMultiple",
            parse=None if message == "UpdateMultiple" else parse_json_object,
        )

    def _send_batch(
        self,
        message: BulkMessage,
        entity_set: str,
        keys: TableKeys,
        part: list[JsonObject],
        caller_object_id: str | None,
    ) -> None:
        operations = []
        for target in part:
            body = {k: v for k, v in target.items() if k != "@odata.type"}
            row_id = str(body.pop(keys.primary_id))
            if message == "CreateMultiple":
                operations.append(Operation.create(entity_set, body, row_id))
            elif message == "UpdateMultiple":
                operations.append(Operation.update(entity_set, row_id, body))
            else:
                operations.append(Operation.upsert(entity_set, row_id, body))
        results = self._client.batch(
            [ChangeSet(operations)], continue_on_error=False, caller_object_id=caller_object_id
        )
        failure = _first_failure(results)
        if failure is not None:
            raise failure


def _first_failure(results: list[OperationResult]) -> DynamicsError | None:
    errors = [r.error for r in results if r.error is not None and not r.already_existed]
    if not errors:
        return None
    return next((e for e in errors if not isinstance(e, RolledBack)), errors[0])


def _json_bytes(body: JsonObject) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
