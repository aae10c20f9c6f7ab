"""What is wrong now, on every connected contract: one ``Trouble`` per contract and ``Kind``.

Read from what the lower apps already record, never by asking the CRM (a fixed number of
queries, whatever the number of contracts):

- ``sync_failed``: the last import that finished since the contract connected failed (not
  because of the sign-in, which ``sign_in`` covers, nor because the contract was disconnected or
  Dynamics asked the portal to wait: ``crm_settings.pausing.UNCOUNTED_KINDS``);
- ``sync_paused`` and ``writeback_paused``: the part paused itself (``crm_settings.pausing``);
- ``sign_in``: the connection's sign-in was revoked, expired or can no longer be read (an
  ``AuthError`` recorded on the connection);
- ``items_failed``: outbox items are *Failed*;
- ``solution_missing``: writeback copies InMails or messages, and the connection no longer finds
  the LinkedIn Sales Navigator solution in the org.

Each trouble carries the guide's message and next step (``crm_settings.messages``) where the
guide has one, else words of our own in the same form, and the page that fixes it.
"""

from collections import defaultdict
from dataclasses import dataclass, replace

from django.db.models import Count, F, OuterRef, Subquery
from django.urls import reverse

from alerts.models import Kind
from crm_settings.messages import AdminMessage, admin_message
from crm_settings.models import AutoPause, CrmConnection, CrmSettings
from crm_settings.pausing import UNCOUNTED_KINDS
from sync.models import SyncRun
from writeback.activities import LINKEDIN_TYPES
from writeback.models import ErrorKind, OutboxEntry, OutboxState

# Failures the sign-in incident covers: a second mail for the same cause would only repeat it.
_SIGN_IN_KINDS = {"auth", "unreadable"}

_ITEMS_UNMAPPED = AdminMessage(
    message="Items could not be copied to your CRM because their seats are not matched to a "
    "CRM user.",
    next_step="On Admin / Seat Management, Not Matched shows why (usually the seat's email "
    "differs from its CRM user's). Fix the seat or the CRM user; seat holders then select Retry "
    "on each item.",
)
_SOLUTION_MISSING = AdminMessage(
    message="Writeback needs the LinkedIn Sales Navigator for Dynamics app, and your CRM no "
    "longer has it: InMails and messages wait, unsent, until it is back (notes carry on).",
    next_step="Ask a Dynamics Administrator to install it again (Get it now on CRM Settings), "
    "then refresh CRM Settings: the waiting items are then delivered.",
)


@dataclass(frozen=True)
class Trouble:
    contract_id: int
    kind: str
    title: str
    problem: AdminMessage
    fix_path: str
    fix_label: str


def _crm_settings_page() -> tuple[str, str]:
    return reverse("crm_settings:index"), "CRM Settings"


def _trouble(contract_id: int, kind: str, title: str, problem: AdminMessage, fix=None) -> Trouble:
    path, label = fix or _crm_settings_page()
    return Trouble(
        contract_id=contract_id,
        kind=kind,
        title=title,
        problem=problem,
        fix_path=path,
        fix_label=label,
    )


def troubles_find() -> tuple[dict[tuple[int, str], Trouble], set[int]]:
    """Every trouble now, by (contract id, kind), and the ids of the connected contracts
    (5 queries)."""
    connections = list(
        CrmConnection.objects.values(
            "contract_id", "status", "last_error_kind", "last_error_detail"
        ).order_by("contract_id")
    )
    troubles = [
        *_sign_in(connections),
        *_sync_failed(),
        *_paused(),
        *_items_failed(),
        *_solution_missing(),
    ]
    return (
        {(trouble.contract_id, trouble.kind): trouble for trouble in troubles},
        {connection["contract_id"] for connection in connections},
    )


def _sign_in(connections: list[dict]) -> list[Trouble]:
    return [
        _trouble(
            connection["contract_id"],
            Kind.SIGN_IN,
            "Your CRM sign-in stopped working",
            admin_message(connection["last_error_kind"] or "auth", connection["last_error_detail"]),
        )
        for connection in connections
        if connection["status"] == CrmConnection.Status.ERROR
    ]


def _sync_failed() -> list[Trouble]:
    """The last run finished since connecting, per contract, where it failed (one query)."""
    last_finished = (
        SyncRun.objects.filter(
            contract_id=OuterRef("contract_id"),
            finished_at__isnull=False,
            created_at__gte=OuterRef("connected_at"),
        )
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )
    runs = SyncRun.objects.filter(
        pk__in=CrmConnection.objects.annotate(run=Subquery(last_finished)).values("run"),
        state=SyncRun.State.FAILED,
    ).exclude(error_kind__in=UNCOUNTED_KINDS | _SIGN_IN_KINDS)
    return [
        _trouble(
            run.contract_id,
            Kind.SYNC_FAILED,
            "The sync with your CRM failed",
            admin_message(run.error_kind, run.error_detail),
        )
        for run in runs.only("contract_id", "error_kind", "error_detail")
    ]


def _paused() -> list[Trouble]:
    troubles = []
    pauses = AutoPause.objects.filter(paused_at__isnull=False).annotate(
        contract_id=F("connection__contract_id")
    )
    for pause in pauses:
        problem = admin_message(pause.last_error_kind, pause.last_error_detail)
        if pause.part == AutoPause.Part.SYNC:
            kind, title = Kind.SYNC_PAUSED, "The sync paused itself"
            then = "Then select Resume sync on CRM Settings: scheduled syncs wait until you do."
        else:
            kind, title = Kind.WRITEBACK_PAUSED, "Writeback paused itself"
            then = (
                "Then select Resume writeback on CRM Settings: items wait in the outbox until "
                "you do, and nothing is lost."
            )
        title = f"{title} after {pause.failures} failures in a row"
        problem = replace(problem, next_step=f"{problem.next_step} {then}")
        troubles.append(_trouble(pause.contract_id, kind, title, problem))
    return troubles


def _items_failed() -> list[Trouble]:
    """Failed items per contract, told by their most frequent reason (one query)."""
    by_contract: dict[int, dict[str, int]] = defaultdict(dict)
    counts = (
        OutboxEntry.objects.filter(state=OutboxState.FAILED, contract__crm_connection__isnull=False)
        .values_list("contract_id", "last_error_kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for contract_id, kind, count in counts:
        by_contract[contract_id][kind] = count
    troubles = []
    for contract_id, kinds in sorted(by_contract.items()):
        total = sum(kinds.values())
        top = max(sorted(kinds), key=kinds.get)
        reasons = "; ".join(f"{count} × {_reason(kind)}" for kind, count in sorted(kinds.items()))
        if top == ErrorKind.UNMAPPED:
            problem = replace(_ITEMS_UNMAPPED, detail=reasons)
            fix = (reverse("seats:list"), "Admin / Seat Management")
        else:
            guide = admin_message(top, reasons)
            problem = replace(
                guide,
                message=f"Items could not be copied to your CRM. {guide.message}",
                next_step=f"{guide.next_step} Seat holders then select Retry on each item.",
            )
            fix = None
        noun = "item" if total == 1 else "items"
        title = f"{total} {noun} could not be copied to your CRM"
        troubles.append(_trouble(contract_id, Kind.ITEMS_FAILED, title, problem, fix))
    return troubles


def _reason(kind: str) -> str:
    return ErrorKind(kind).label if kind in ErrorKind.values else kind or "unknown reason"


def _solution_missing() -> list[Trouble]:
    """Contracts copying InMails or messages whose org lost the LinkedIn solution (one query)."""
    copying = CrmSettings.objects.filter(
        writeback_enabled=True, contract__crm_connection__linkedin_solution_installed=False
    )
    return [
        _trouble(
            crm_settings.contract_id,
            Kind.SOLUTION_MISSING,
            "The LinkedIn Sales Navigator app is missing from your CRM",
            _SOLUTION_MISSING,
        )
        for crm_settings in copying
        if crm_settings.writeback_types() & LINKEDIN_TYPES
    ]
