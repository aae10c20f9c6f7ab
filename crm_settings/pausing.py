"""Auto-pause: a contract's import, or its writeback, stops itself after failing N times in a row
(``CrmSettings.pause_after_failures``, 5 unless an admin chose otherwise on CRM Settings), so a
broken connection stops spending the CRM's API budget until someone looks.

Each part (``AutoPause.Part``: the sync, writeback) of a live connection has one ``AutoPause``::

    counting (failures n) ──failure──> counting (n + 1) ──the Nth failure──> paused
    counting             ──success──> counting (0)
    paused               ──Resume (an admin, audited)──> counting (0), and the work starts now
    any                  ──Disconnect CRM Sync──> gone (a new connection starts counting afresh)

What counts, and who asks:

- the import: ``sync.services`` records every finished run; a run stopped by a disconnect or by
  Dynamics asking the portal to wait (``UNCOUNTED_KINDS``) is neither a failure nor a success;
- writeback: ``writeback.tasks.drain_outbox`` records a drain that could not reach the CRM (the
  client could not be opened, or the run halted) as a failure, and one that delivered as a
  success; one item's own failure (a privilege, a validation error) is the item's, not the
  drain's.

While paused, the import's schedule and tasks skip the contract (*Sync now* says it is paused),
and writeback claims nothing: the outbox keeps every item, and *Resume writeback* drains them.
Every change is a conditional UPDATE, so two workers recording at once pause exactly once.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm_settings.messages import THROTTLED, AdminMessage, admin_message
from crm_settings.models import AutoPause, CrmConnection, CrmSettings
from crm_settings.selectors import crm_settings_get
from crm_settings.services import import_enqueue
from seats.models import Contract, User
from seats.services import audit_record

Part = AutoPause.Part

# Error kinds that are no failure of the connection: "" is a run stopped because the contract
# was disconnected; THROTTLED one that Dynamics' service protection asked to wait.
UNCOUNTED_KINDS = frozenset({"", THROTTLED})
_DEFAULT_LIMIT = CrmSettings._meta.get_field("pause_after_failures").default
# Writeback's drain (``writeback.tasks.DRAIN_OUTBOX``) spelt out: crm_settings sits below writeback
# and may not import it (DESIGN §3). tests/portal/test_task_names.py checks that the names agree.
DRAIN_OUTBOX_TASK = "writeback.tasks.drain_outbox"


def pause_get(*, contract_id: int, part: str) -> AutoPause | None:
    """The part's pause while it is in force, else None (one query)."""
    return AutoPause.objects.filter(
        connection__contract_id=contract_id, part=part, paused_at__isnull=False
    ).first()


def pauses_in_force(*, contract_id: int) -> list[AutoPause]:
    """The contract's paused parts, sync first (one query)."""
    return list(
        AutoPause.objects.filter(
            connection__contract_id=contract_id, paused_at__isnull=False
        ).order_by("part")
    )


def pause_problem(pause: AutoPause) -> AdminMessage:
    """The guide's message and next step for the failure that paused ``pause``."""
    return admin_message(pause.last_error_kind, pause.last_error_detail)


def pause_failure_record(*, contract_id: int, part: str, kind: str, detail: str) -> bool:
    """One more failure in a row of the part; True when this one paused it.

    Nothing is counted for ``UNCOUNTED_KINDS``, without a connection, or while already paused.
    """
    if kind in UNCOUNTED_KINDS:
        return False
    connection = CrmConnection.objects.filter(contract_id=contract_id).only("pk").first()
    if connection is None:
        return False
    now = timezone.now()
    pause, _ = AutoPause.objects.get_or_create(connection=connection, part=part)
    counting = AutoPause.objects.filter(pk=pause.pk, paused_at__isnull=True)
    counting.update(
        failures=F("failures") + 1,
        last_error_kind=kind,
        last_error_detail=detail[:2000],
        last_failure_at=now,
    )
    limit = (
        CrmSettings.objects.filter(contract_id=contract_id)
        .values_list("pause_after_failures", flat=True)
        .first()
    ) or _DEFAULT_LIMIT
    if not counting.filter(failures__gte=limit).update(paused_at=now):
        return False
    pause.refresh_from_db(fields=["failures"])
    audit_record(
        contract=Contract.objects.get(pk=contract_id),
        actor=None,
        action=f"crm.{part}.paused",
        after={"failures": pause.failures, "error_kind": kind},
    )
    return True


def pause_success_record(*, contract_id: int, part: str) -> None:
    """The part worked: its count of failures in a row starts again from zero."""
    AutoPause.objects.filter(
        connection__contract_id=contract_id, part=part, paused_at__isnull=True, failures__gt=0
    ).update(failures=0)


def _drain_enqueue(*, contract_id: int) -> None:
    """Start writeback's drain (a higher app) by task name once the transaction commits."""
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task(DRAIN_OUTBOX_TASK, contract_id))


@transaction.atomic
def pause_resume(*, contract: Contract, part: str, by: User) -> bool:
    """*Resume sync* / *Resume writeback*: lift the pause and start the work now (audited).

    The import starts as if *Sync now* had been selected; writeback drains every item that
    waited. Returns False when the part was not paused (resumed by someone else meanwhile).
    """
    pause = (
        AutoPause.objects.select_for_update()
        .filter(connection__contract=contract, part=part, paused_at__isnull=False)
        .first()
    )
    if pause is None:
        return False
    before = {"paused_at": pause.paused_at.isoformat(), "failures": pause.failures}
    pause.paused_at = None
    pause.failures = 0
    pause.save(update_fields=["paused_at", "failures"])
    audit_record(
        contract=contract,
        actor=by,
        action=f"crm.{part}.resume",
        before=before,
        after={"paused_at": None, "failures": 0},
    )
    if part == Part.SYNC:
        import_enqueue(contract=contract, trigger="manual")
    else:
        _drain_enqueue(contract_id=contract.pk)
    return True


@transaction.atomic
def pause_settings_update(*, contract: Contract, pause_after_failures: int, by: User) -> bool:
    """Save how many failures in a row pause a part (audited); False when it did not change.

    A lower limit applies from the next failure on: a part already past it pauses then.
    """
    crm_settings = CrmSettings.objects.select_for_update().get(
        pk=crm_settings_get(contract=contract).pk
    )
    before = crm_settings.pause_after_failures
    if before == pause_after_failures:
        return False
    crm_settings.pause_after_failures = pause_after_failures
    crm_settings.save(update_fields=["pause_after_failures", "updated_at"])
    audit_record(
        contract=contract,
        actor=by,
        action="crm.settings",
        before={"pause_after_failures": before},
        after={"pause_after_failures": pause_after_failures},
    )
    return True
