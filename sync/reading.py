"""Reading one Dynamics table into the mirror: full, incremental, resumed, reconciled.

Each table has a ``SyncCursor`` that says how its next read goes:

- **Full read** (the first import, after a delta token expired, after the selected columns
  changed, or when a full sync is asked for): every row, requested with ``odata.track-changes``
  so its last page hands over a delta link. Every row written carries the read's *mark* in
  ``seen_in_run``; when the last page is in, rows without the mark are gone from Dynamics and are
  deleted ("reconciled"), so nothing deleted while a token was expired is left behind.
- **Delta read**: GET the saved delta link; changed rows are upserted, ``$deletedEntity`` ids
  deleted, and the new delta link saved. When nothing changed this is one request.
- **Watermark read**, for a table without change tracking (Dataverse refuses
  ``odata.track-changes`` there): rows with ``modifiedon`` at or after the newest one already
  mirrored. A watermark cannot see deletions, so such a table also gets a reconciled full read
  once a day (``WATERMARK_FULL_READ_EVERY``).

Dataverse allows no ``$filter`` with change tracking, so every opportunity is read and the rules
(open, stage) are applied later in SQL (``sync.evaluate``).

**Checkpoints.** Each page is written in one transaction together with the cursor's next link (or,
on the last page, the new delta link / watermark) and the run's counts. A run killed at any moment
has either written a page and its checkpoint or neither; the next run of the contract continues
from the saved next link with the same mark, so it ends exactly where an uninterrupted run would.
"""

import contextlib
import contextvars
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from dynamics import (
    ChangeTrackingError,
    ChangeTrackingUnsupported,
    DeltaTokenExpired,
    DynamicsClient,
    Page,
    ValidationFailed,
)
from sync.mirror import ConvertedPage, MirrorTable, ReadContext, mirror_page_write, page_convert
from sync.models import SyncCursor, SyncRun
from sync.runs import RunRecorder

WATERMARK_FULL_READ_EVERY = timedelta(days=1)


class ReadKind:
    FULL = "full"
    DELTA = "delta"
    WATERMARK = "watermark"


@dataclass
class _Plan:
    kind: str
    # The reconciliation mark written to ``seen_in_run`` (a full read's own, kept across resumes).
    mark: int
    # A saved next link to continue from, or None to start the read.
    start_url: str | None
    # How the table was read, shown with the run's counts.
    note: str


def table_read(
    *,
    table: MirrorTable,
    run: SyncRun,
    client: DynamicsClient,
    context: ReadContext,
    recorder: RunRecorder,
) -> None:
    """Bring the mirror of one table up to date, page by page, with a checkpoint per page.

    1. Decide the read from the cursor (resume, delta, watermark or full).
    2. Read it; each page is written with its checkpoint (``_read``).
    3. When Dynamics says the delta link is no good (expired token) or the table has no change
       tracking, start over with a reconciled full read; a table without tracking is read by
       watermark from then on.
    4. When a saved next link is refused (the server forgot the paging state), start over too.
    """
    cursor, _ = SyncCursor.objects.get_or_create(
        contract_id=context.contract_id, table=table.logical_name
    )
    select = table.select(context)
    plan = _plan(cursor=cursor, run=run, signature=",".join(select))
    if plan.kind == ReadKind.FULL and plan.start_url is None:
        # Ask for change tracking again: an admin may have turned it on since (Dataverse lets
        # them turn it on, never off); if it is still off, step 3 falls back to a watermark.
        cursor.mode = SyncCursor.Mode.DELTA
    read = {"run": run, "client": client, "context": context, "recorder": recorder}
    try:
        _read(table, cursor, plan, select, **read)
        return
    except ChangeTrackingUnsupported:
        cursor.mode = SyncCursor.Mode.WATERMARK
        note = "full read (change tracking is off for this table)"
    except DeltaTokenExpired:
        note = "full read, reconciled (the delta token had expired)"
    except ChangeTrackingError:
        note = "full read, reconciled (change tracking refused the saved link)"
    except ValidationFailed:
        if not plan.start_url:
            raise
        note = "full read, reconciled (the saved page link was refused)"
    _read(table, cursor, _Plan(ReadKind.FULL, run.pk, None, note), select, **read)


def _plan(*, cursor: SyncCursor, run: SyncRun, signature: str) -> _Plan:
    """How to read the table this time; see the module docstring."""
    same_columns = cursor.columns == signature
    if cursor.next_link and same_columns and (cursor.next_link_full or not run.full):
        if cursor.next_link_full:
            kind = ReadKind.FULL
        elif cursor.mode == SyncCursor.Mode.DELTA:
            kind = ReadKind.DELTA
        else:
            kind = ReadKind.WATERMARK
        mark = cursor.next_link_run if kind == ReadKind.FULL and cursor.next_link_run else run.pk
        return _Plan(kind, mark, cursor.next_link, f"{kind} read, resumed from its last page")
    if cursor.last_full_read_at is None:
        return _Plan(ReadKind.FULL, run.pk, None, "full read (first import)")
    if run.full:
        return _Plan(ReadKind.FULL, run.pk, None, "full read, reconciled (asked for)")
    if not same_columns:
        return _Plan(ReadKind.FULL, run.pk, None, "full read, reconciled (the columns changed)")
    if cursor.mode == SyncCursor.Mode.DELTA and cursor.delta_link:
        return _Plan(ReadKind.DELTA, run.pk, None, "delta read (change tracking)")
    due = cursor.last_full_read_at + WATERMARK_FULL_READ_EVERY
    if cursor.mode == SyncCursor.Mode.WATERMARK and cursor.watermark and timezone.now() < due:
        return _Plan(ReadKind.WATERMARK, run.pk, None, "watermark read (modified since)")
    return _Plan(ReadKind.FULL, run.pk, None, "full read, reconciled")


def _pages(table: MirrorTable, cursor: SyncCursor, plan: _Plan, select: list[str], client):
    tracking = cursor.mode == SyncCursor.Mode.DELTA
    if plan.kind == ReadKind.FULL and tracking:
        return client.iter_changes(table.entity_set, select=select, start_url=plan.start_url)
    if plan.kind == ReadKind.FULL:
        return client.iter_pages(table.entity_set, select=select, start_url=plan.start_url)
    if plan.kind == ReadKind.DELTA:
        return client.iter_changes(
            table.entity_set, select=select, delta_link=cursor.delta_link, start_url=plan.start_url
        )
    since = cursor.watermark.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return client.iter_pages(
        table.entity_set, select=select, filter=f"modifiedon ge {since}", start_url=plan.start_url
    )


def _prefetched(pages: Iterator[Page], convert) -> Iterator[tuple[Page, ConvertedPage]]:
    """The pages with their conversion, the next page downloaded and converted in a thread while
    the current one is written.

    Downloading (Dynamics' time), converting (Python's) and writing (the database's) then
    overlap. Only the thread uses the client while the pages last. A page fetched but not yet
    written when the process dies is simply read again: the checkpoint still points at it.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch():
        try:
            for page in pages:
                if stop.is_set():
                    return
                ready.put(("page", (page, convert(page))))
        except BaseException as error:  # handed to the reader, which raises it
            ready.put(("error", error))
        else:
            ready.put(("done", None))

    # The fetcher's log lines (the client's retries) carry the run's ids (config.logs).
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(fetch,), name="sync-prefetch", daemon=True
    )
    thread.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "error":
                raise item
            if kind == "done":
                return
            yield item
    finally:
        stop.set()
        # Unblock a fetcher waiting to hand over a page, then let it finish its request.
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.1)


def _read(table, cursor, plan, select, *, run, client, context, recorder) -> None:
    """Read the planned pages; write each one with its checkpoint in one transaction."""
    signature = ",".join(select)

    def convert(page: Page) -> ConvertedPage:
        return page_convert(
            table=table,
            context=context,
            rows=page.rows,
            deleted_ids=page.deleted_ids,
            mark=plan.mark,
        )

    for page, converted in _prefetched(_pages(table, cursor, plan, select, client), convert):
        last = page.next_link is None
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Each page commits with its checkpoint, so a commit lost in a database crash
                # loses the page and its checkpoint together and the next run reads it again:
                # waiting for the disk at every page buys nothing.
                with connection.cursor() as db:
                    db.execute("SET LOCAL synchronous_commit TO OFF")
            counts = mirror_page_write(
                table=table,
                page=converted,
                context=context,
                run_id=run.pk,
                full_read=plan.kind == ReadKind.FULL,
            ).as_dict()
            cursor.columns = signature
            if last:
                counts["removed"] += _finish_read(table, cursor, plan, page, context)
            else:
                cursor.next_link = page.next_link
                cursor.next_link_run = plan.mark
                cursor.next_link_full = plan.kind == ReadKind.FULL
            cursor.save()
            recorder.checkpoint(
                table=table.logical_name, add=counts, note=plan.note, phase=table.logical_name
            )


def _finish_read(table, cursor: SyncCursor, plan: _Plan, page, context: ReadContext) -> int:
    """Close the read on its last page: links, watermark, reconciliation. Returns rows removed."""
    cursor.next_link, cursor.next_link_run, cursor.next_link_full = "", None, False
    if cursor.mode == SyncCursor.Mode.DELTA:
        cursor.delta_link = page.delta_link or ""
    else:
        cursor.delta_link = ""
        newest = table.model.objects.filter(contract_id=context.contract_id).aggregate(
            newest=Max("modified_on")
        )["newest"]
        cursor.watermark = newest or cursor.watermark
    if plan.kind != ReadKind.FULL:
        return 0
    cursor.last_full_read_at = timezone.now()
    gone = table.model.objects.filter(contract_id=context.contract_id).exclude(
        seen_in_run=plan.mark
    )
    _, removed = gone.delete()
    if connection.vendor == "postgresql":
        # A full read may have written the whole table: give the planner statistics now rather
        # than when autovacuum comes by, or the evaluation's joins are planned for an empty
        # table. Only the columns looked up by: the text columns cost most of a full ANALYZE.
        quote = connection.ops.quote_name
        columns = ", ".join(quote(column) for column in table.planner_columns)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quote(table.model._meta.db_table)} ({columns})")
    return removed.get(table.model._meta.label, 0)
