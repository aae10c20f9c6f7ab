"""DynamicsClient: reads, paging, change tracking, writes and $batch against the Dataverse Web API.

This is the only code in the project that speaks HTTP to Dynamics. It follows Microsoft's
documented protocol so the same code runs against a real org and against the emulator.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from .batch import (
    ChangeSet,
    Operation,
    OperationResult,
    RolledBack,
    encode_batch,
    parse_batch_response,
    results_for,
    split_items,
)
from .budget import Budget
from .bulk import DEFAULT_CHUNK_SIZE, BulkResult, BulkWriter
from .environment import environment_origin
from .errors import DuplicateRecord, MalformedResponse, NotFound
from .http import (
    JsonObject,
    Reply,
    RetryPolicy,
    Stats,
    Timeout,
    TokenSource,
    Transport,
    make_session,
    parse_json_object,
)
from .metadata import MetadataQueries
from .odata import build_query, guid, row_path, with_query
from .pages import COUNT_LIMIT, Page, RowCount, parse_page, same_service
from .privileges import PrivilegeQueries

MAX_PAGE_SIZE = 5000
COUNT_ANNOTATIONS = (
    'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
    'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'
)
FORMATTED_ANNOTATIONS = (
    'odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
    'Microsoft.Dynamics.CRM.lookuplogicalname"'
)
_ENTITY_ID = re.compile(
    r"\(\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\)\s*$"
)


class DynamicsClient(MetadataQueries, PrivilegeQueries):
    """A client for one Dataverse environment.

    `environment_url` is the org URL (`https://contoso.crm4.dynamics.com`; the Web API endpoint
    is accepted too). It must pass `environment_origin`, with the operator's exact exceptions in
    `extra_allowed_hosts` (the emulator's `127.0.0.1:8443`); otherwise EnvironmentUrlRefused is
    raised here, before any request, so no token is sent to a host the rule refuses. Every
    request goes to the origin it returns. `auth` gives bearer tokens (MsalAuth or
    StaticTokenAuth). Not meant to be shared between threads: give each worker its own client.

    `stats` counts what the client sent; `budget` holds what Dynamics last said is left of the
    service protection limits, and the server's Retry-After hold (`dynamics.budget`).
    """

    def __init__(
        self,
        environment_url: str,
        auth: TokenSource,
        *,
        session: requests.Session | None = None,
        timeout: Timeout = (5, 120),
        retry: RetryPolicy | None = None,
        page_size: int = MAX_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        api_version: str = "v9.2",
        extra_allowed_hosts: Iterable[str] = (),
    ):
        self.environment_url = environment_origin(
            environment_url, extra_allowed_hosts=extra_allowed_hosts
        )
        self.api_url = f"{self.environment_url}/api/data/{api_version}/"
        self.page_size = page_size
        self.stats = Stats()
        self.budget = Budget(clock=clock)
        self.session = session or make_session()
        self._transport = Transport(
            session=self.session,
            auth=auth,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            stats=self.stats,
            budget=self.budget,
            sleep=sleep,
            clock=clock,
        )
        self._bulk = BulkWriter(self)

    def close(self) -> None:
        self.session.close()

    # -- reads ----------------------------------------------------------------------------

    def iter_pages(
        self,
        entity_set: str,
        *,
        select: str | Sequence[str],
        filter: str | None = None,
        expand: str | Sequence[str] | None = None,
        orderby: str | Sequence[str] | None = None,
        top: int | None = None,
        page_size: int | None = None,
        formatted: bool = False,
        count: bool = False,
        start_url: str | None = None,
    ) -> Iterator[Page]:
        """Read a collection page by page, following `@odata.nextLink`.

        `start_url` resumes from a saved next link (the other query arguments are then ignored:
        the link carries them). Paging uses `Prefer: odata.maxpagesize`; Dataverse ignores `$top`
        when that preference is present, so with `top` the preference is left out and one page
        of at most `top` rows comes back.
        """
        if start_url:
            url = self._checked_link(start_url)
        else:
            query = build_query(
                select=select, filter=filter, expand=expand, orderby=orderby, top=top, count=count
            )
            url = self._url(with_query(entity_set, query))
        preferences = [] if top else [self._max_page_size(page_size)]
        if formatted:
            preferences.append(FORMATTED_ANNOTATIONS)
        yield from self._follow(url, preferences, table=entity_set)

    def iter_rows(self, entity_set: str, **options: Any) -> Iterator[JsonObject]:
        """Like iter_pages, one row at a time."""
        for page in self.iter_pages(entity_set, **options):
            yield from page.rows

    def get_row(
        self,
        entity_set: str,
        row_id: str,
        *,
        select: str | Sequence[str] | None = None,
        expand: str | Sequence[str] | None = None,
        formatted: bool = False,
    ) -> JsonObject:
        """One row by primary key; raises NotFound when it does not exist."""
        path = with_query(row_path(entity_set, row_id), build_query(select=select, expand=expand))
        return self._get_json(
            path, table=entity_set, prefer=FORMATTED_ANNOTATIONS if formatted else None
        )

    def count(self, entity_set: str, filter: str | None = None) -> RowCount:
        """Rows matching `filter`, from `$count=true`.

        Dataverse counts at most 5,000 rows; the result is an int whose `capped` is True when
        more rows match (Dataverse's `totalrecordcountlimitexceeded` annotation, asked for here).
        """
        url = self._url(with_query(entity_set, build_query(filter=filter, count=True)))
        page = self._transport.send(
            "GET",
            url,
            headers={"Prefer": f"odata.maxpagesize=1,{COUNT_ANNOTATIONS}"},
            table=entity_set,
            parse=self._parse_page,
        )
        if page.count is None:
            raise MalformedResponse(
                "$count=true answered without @odata.count", url=url, table=entity_set
            )
        # Without the annotation (a server that ignores the preference) a count at the limit
        # may be capped: say so rather than claim an exact number.
        capped = page.count_limit_exceeded
        if capped is None:
            capped = page.count >= COUNT_LIMIT
        return RowCount(page.count, capped=capped)

    # -- change tracking ------------------------------------------------------------------

    def iter_changes(
        self,
        entity_set: str,
        *,
        select: str | Sequence[str],
        delta_link: str | None = None,
        start_url: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Page]:
        """Read a table with change tracking.

        Without `delta_link`: the initial full read (`Prefer: odata.track-changes`). With it: the
        rows created or changed since, and the ids of deleted rows in `Page.deleted_ids` (never in
        `rows`). The last page carries the new `delta_link` to store. `start_url` resumes from a
        saved next link of either kind of read.
        Raises DeltaTokenExpired (expired or unknown token) or ChangeTrackingUnsupported (table
        not tracked); both are ChangeTrackingError, on which the caller does a full read.
        """
        resume = start_url or delta_link
        if resume:
            url = self._checked_link(resume)
        else:
            url = self._url(with_query(entity_set, build_query(select=select)))
        preferences = [self._max_page_size(page_size)]
        # The initial read asks for tracking; a delta link already is a tracking request and is
        # sent as Microsoft's example sends it, with no track-changes preference.
        if "$deltatoken=" not in url and "%24deltatoken=" not in url:
            preferences.append("odata.track-changes")
        page = None
        for page in self._follow(url, preferences, table=entity_set):
            yield page
        if page is not None and page.delta_link is None:
            raise MalformedResponse(
                "change-tracking read ended without an @odata.deltaLink",
                url=page.url,
                table=entity_set,
            )

    # -- writes ---------------------------------------------------------------------------

    def create(
        self,
        entity_set: str,
        body: JsonObject,
        *,
        row_id: str | None = None,
        caller_object_id: str | None = None,
    ) -> str:
        """Create a row and return its id.

        With `row_id` (recommended) the row gets that primary key through a create-only upsert:
        `PATCH set(id)` with `If-None-Match: *`. It is safe to retry, and a retry that finds the
        row already there (our first send worked but its answer was lost) returns the id; a row
        that existed before this call raises DuplicateRecord. Without `row_id` it is a plain POST,
        retried only when the server certainly did not receive it.
        """
        headers = self._caller_headers(caller_object_id)
        if row_id is None:
            reply = self._transport.send(
                "POST",
                self._url(entity_set),
                headers=headers,
                body=_json_bytes(body),
                table=entity_set,
                idempotent=False,
            )
            return self._created_id(reply, entity_set)
        row_id = guid(row_id)
        try:
            self._transport.send(
                "PATCH",
                self._url(row_path(entity_set, row_id)),
                headers={**headers, "If-None-Match": "*"},
                body=_json_bytes(body),
                table=entity_set,
            )
        except DuplicateRecord as exc:
            if exc.attempts > 1:
                return row_id
            raise
        return row_id

    def update(
        self,
        entity_set: str,
        row_id: str,
        body: JsonObject,
        *,
        if_match: str | None = None,
        caller_object_id: str | None = None,
    ) -> None:
        """Update an existing row. NotFound when it is absent (`If-Match: *` stops the PATCH from
        creating it); pass an etag as `if_match` for optimistic concurrency."""
        headers = {**self._caller_headers(caller_object_id), "If-Match": if_match or "*"}
        self._transport.send(
            "PATCH",
            self._url(row_path(entity_set, row_id)),
            headers=headers,
            body=_json_bytes(body),
            table=entity_set,
        )

    def upsert(
        self,
        entity_set: str,
        row_id: str,
        body: JsonObject,
        *,
        prevent_create: bool = False,
        prevent_update: bool = False,
        caller_object_id: str | None = None,
    ) -> None:
        """Create the row with this id or update it. `prevent_create` -> NotFound if absent;
        `prevent_update` -> DuplicateRecord if present."""
        if prevent_create and prevent_update:
            raise ValueError("prevent_create and prevent_update together leave nothing to do")
        headers = self._caller_headers(caller_object_id)
        if prevent_create:
            headers["If-Match"] = "*"
        if prevent_update:
            headers["If-None-Match"] = "*"
        self._transport.send(
            "PATCH",
            self._url(row_path(entity_set, row_id)),
            headers=headers,
            body=_json_bytes(body),
            table=entity_set,
        )

    def delete(
        self,
        entity_set: str,
        row_id: str,
        *,
        if_match: str | None = None,
        caller_object_id: str | None = None,
    ) -> None:
        """Delete a row. NotFound when absent, unless our own earlier send already deleted it."""
        headers = self._caller_headers(caller_object_id)
        if if_match:
            headers["If-Match"] = if_match
        try:
            self._transport.send(
                "DELETE", self._url(row_path(entity_set, row_id)), headers=headers, table=entity_set
            )
        except NotFound as exc:
            if exc.attempts > 1:
                return
            raise

    def create_closed_activity(
        self,
        entity_set: str,
        body: JsonObject,
        *,
        row_id: str,
        state: tuple[int, int],
        caller_object_id: str | None = None,
    ) -> str:
        """Create an activity and close it (statecode, statuscode) in one change set.

        Dataverse ignores or rejects a closed state in the create body, so the documented way is
        create-then-PATCH; in one change set both happen or neither does. If the batch had to be
        re-sent and the activity turns out to exist already, its state is checked and set.
        """
        row_id = guid(row_id)
        statecode, statuscode = state
        closing = {"statecode": statecode, "statuscode": statuscode}
        created, closed = self.batch(
            [
                ChangeSet(
                    [
                        Operation.create(entity_set, body, row_id),
                        Operation.update(entity_set, row_id, closing),
                    ]
                )
            ],
            continue_on_error=False,
            caller_object_id=caller_object_id,
        )
        if created.ok and closed.ok:
            return row_id
        if created.already_existed:
            row = self.get_row(entity_set, row_id, select=["statecode", "statuscode"])
            if (row.get("statecode"), row.get("statuscode")) != (statecode, statuscode):
                self.update(entity_set, row_id, closing, caller_object_id=caller_object_id)
            return row_id
        # Raise the operation that failed, not the one rolled back because of it.
        errors = [result.error for result in (created, closed) if result.error]
        raise next((e for e in errors if not isinstance(e, RolledBack)), errors[0])

    # -- many rows of one table ------------------------------------------------------------

    def create_many(
        self,
        entity_set: str,
        rows: Sequence[JsonObject],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        caller_object_id: str | None = None,
    ) -> BulkResult:
        """Create rows of one table with CreateMultiple (chunks of `chunk_size`), or `$batch`
        change sets where the table lacks it. Rows without a primary key get one here; the
        result's `ids` are in input order. A failing chunk writes nothing and raises
        BulkWriteFailed (`dynamics.bulk` has the rules and their sources)."""
        return self._bulk.write(
            "CreateMultiple",
            entity_set,
            rows,
            chunk_size=chunk_size,
            caller_object_id=caller_object_id,
        )

    def update_many(
        self,
        entity_set: str,
        rows: Sequence[JsonObject],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        caller_object_id: str | None = None,
    ) -> BulkResult:
        """Update existing rows (each carries its primary key) with UpdateMultiple, or `$batch`
        where the table lacks it. A missing row fails its chunk (NotFound as the cause)."""
        return self._bulk.write(
            "UpdateMultiple",
            entity_set,
            rows,
            chunk_size=chunk_size,
            caller_object_id=caller_object_id,
        )

    def upsert_many(
        self,
        entity_set: str,
        rows: Sequence[JsonObject],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        caller_object_id: str | None = None,
    ) -> BulkResult:
        """Create or update rows by primary key with UpsertMultiple, or `$batch` where the
        table lacks it."""
        return self._bulk.write(
            "UpsertMultiple",
            entity_set,
            rows,
            chunk_size=chunk_size,
            caller_object_id=caller_object_id,
        )

    def bulk_supported(self, entity_set: str, message: str = "CreateMultiple") -> bool | None:
        """False once the org answered that `entity_set` lacks `message`; None until then."""
        return self._bulk.supports(entity_set, message)

    # -- batch ----------------------------------------------------------------------------

    def batch(
        self,
        items: list[Operation | ChangeSet],
        *,
        continue_on_error: bool = True,
        caller_object_id: str | None = None,
    ) -> list[OperationResult]:
        """Run operations with `$batch`; return one result per Operation, in input order.

        More than 1,000 operations are sent as several batches (change sets are never split).
        A batch that fails as a whole with 429/5xx or a lost connection is re-sent; that is safe
        when creates carry client-chosen ids (Operation.create with row_id), and such a create
        that then finds its row is reported ok with `already_existed=True`. Without
        `continue_on_error` Dataverse stops at the first failure; the operations after it come
        back with `status=None` and an error saying they were not executed.
        """
        api_path = urlsplit(self.api_url).path
        url = self._url("$batch")
        results: list[OperationResult] = []
        for chunk in split_items(items):
            content_type, body = encode_batch(chunk, api_path=api_path)
            headers = {**self._caller_headers(caller_object_id), "Content-Type": content_type}
            if continue_on_error:
                headers["Prefer"] = "odata.continue-on-error"
            reply = self._transport.send(
                "POST", url, headers=headers, body=body, accept=_is_batch_failure
            )
            entries = parse_batch_response(reply.content, reply.content_type, url=url)
            results.extend(results_for(chunk, entries, url=url, resent=reply.attempts > 1))
        return results

    # -- internals ------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.api_url + path

    def _checked_link(self, url: str) -> str:
        if not same_service(url, self.api_url):
            raise ValueError(f"not a link of this environment's Web API: {url[:120]!r}")
        return url

    def _max_page_size(self, page_size: int | None) -> str:
        size = page_size or self.page_size
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        return f"odata.maxpagesize={size}"

    def _parse_page(self, reply: Reply) -> Page:
        return parse_page(reply, api_url=self.api_url)

    def _follow(self, url: str, preferences: list[str], *, table: str) -> Iterator[Page]:
        # Every page is requested with the same preferences, as the paging doc asks.
        headers = {"Prefer": ",".join(preferences)} if preferences else None
        next_url: str | None = url
        while next_url:
            page = self._transport.send(
                "GET", next_url, headers=headers, table=table, parse=self._parse_page
            )
            yield page
            next_url = page.next_link

    def _get_json(
        self,
        path: str,
        *,
        table: str | None = None,
        prefer: str | None = None,
        caller_object_id: str | None = None,
    ) -> JsonObject:
        headers = self._caller_headers(caller_object_id)
        if prefer:
            headers["Prefer"] = prefer
        return self._transport.send(
            "GET", self._url(path), headers=headers or None, table=table, parse=parse_json_object
        )

    @staticmethod
    def _caller_headers(caller_object_id: str | None) -> dict[str, str]:
        # Impersonation: the Entra object id (systemuser.azureactivedirectoryobjectid) of the user
        # to act for; the caller needs the "act on behalf of another user" privilege.
        return {"CallerObjectId": guid(caller_object_id)} if caller_object_id else {}

    @staticmethod
    def _created_id(reply: Reply, entity_set: str) -> str:
        entity_id = reply.headers.get("OData-EntityId") or reply.headers.get("Location") or ""
        match = _ENTITY_ID.search(entity_id)
        if match:
            return match.group(1).lower()
        raise MalformedResponse(
            "create answered without an OData-EntityId header naming the new row",
            status=reply.status,
            url=reply.url,
            table=entity_set,
        )


def _json_bytes(body: JsonObject) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _is_batch_failure(response: requests.Response) -> bool:
    """A $batch stopped by a failing operation answers 4xx with the multipart body we need."""
    content_type = response.headers.get("Content-Type", "").lower()
    return (
        400 <= response.status_code < 500
        and response.status_code != 429
        and content_type.startswith("multipart/mixed")
    )
