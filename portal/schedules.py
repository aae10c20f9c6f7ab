"""Every recurring job, declared in code and installed by ``manage.py setup_schedules``.

django-q2's ``schedule()`` raises on a duplicate name, so installation goes through
``update_or_create`` keyed by name: running it on every deploy is safe.
"""

from dataclasses import dataclass

from django_q.models import Schedule

from alerts.tasks import ALERTS_CHECK, ALERTS_DIGEST
from crm_settings.tasks import CRM_CHOICES_REFRESH_DUE, SLOT_WAITERS_WAKE
from portal.tasks import HEARTBEAT, PRUNE_OLD_RECORDS
from sync.tasks import SYNC_DUE_CONTRACTS
from writeback.tasks import DRAIN_DUE_OUTBOXES


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    minutes: int


SCHEDULES = [
    ScheduleSpec("portal: worker heartbeat", HEARTBEAT, minutes=1),
    # Every minute, enqueue the imports that are due (each contract has its own interval) and
    # take over those whose worker died.
    ScheduleSpec("sync: start due imports", SYNC_DUE_CONTRACTS, minutes=1),
    # Retries whose time has come, and items queued while their contract was not connected.
    ScheduleSpec("writeback: drain due outboxes", DRAIN_DUE_OUTBOXES, minutes=1),
    # Imports and drains that stepped aside for a contract's busy worker slots, when the worker
    # holding the slot died (a live one starts them itself as it frees the slot).
    ScheduleSpec("crm_settings: start tasks waiting for a worker", SLOT_WAITERS_WAKE, minutes=1),
    # Daily, read every org's stages, money fields and LinkedIn app again: CRM Settings shows
    # what is stored and never asks the CRM (*Refresh from CRM* reads them at once).
    ScheduleSpec("crm_settings: refresh CRM choices", CRM_CHOICES_REFRESH_DUE, minutes=24 * 60),
    # Open and clear incidents (a failed sync, a revoked sign-in...), mailing admins once each.
    ScheduleSpec("alerts: check for incidents", ALERTS_CHECK, minutes=1),
    # The daily digest, for admins who chose it instead of an email per alert.
    ScheduleSpec("alerts: daily digest", ALERTS_DIGEST, minutes=24 * 60),
    # Old sync runs, audit entries and task results, past their retention (portal.retention).
    ScheduleSpec("portal: prune old records", PRUNE_OLD_RECORDS, minutes=60),
]

# Schedules whose name starts with one of these are ours: stale ones are removed.
_OUR_PREFIXES = (
    "portal:",
    "sync:",
    "writeback:",
    "crm_settings:",
    "seats:",
    "network:",
    "alerts:",
)


def install_schedules() -> dict[str, int]:
    """Create or update every declared schedule and drop our stale ones; returns counts."""
    created = updated = 0
    for spec in SCHEDULES:
        _, was_created = Schedule.objects.update_or_create(
            name=spec.name,
            defaults={
                "func": spec.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": spec.minutes,
                "repeats": -1,
            },
        )
        created += was_created
        updated += not was_created
    declared = {spec.name for spec in SCHEDULES}
    stale = [
        s.pk
        for s in Schedule.objects.all()
        if s.name and s.name.startswith(_OUR_PREFIXES) and s.name not in declared
    ]
    removed, _ = Schedule.objects.filter(pk__in=stale).delete()
    return {"created": created, "updated": updated, "removed": removed}
