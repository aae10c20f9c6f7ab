"""Background tasks owned by the portal shell."""

from django.utils import timezone

from portal.retention import retention_prune

# The tasks by name, as the schedules call them and /healthz and /readyz find their results.
HEARTBEAT = "portal.tasks.heartbeat"
PRUNE_OLD_RECORDS = "portal.tasks.prune_old_records"


def heartbeat() -> str:
    """Proves a worker is alive; /healthz and /readyz report when this last succeeded."""
    return timezone.now().isoformat()


def prune_old_records() -> dict[str, int]:
    """The hourly retention: old sync runs, audit entries and task results (portal.retention)."""
    return retention_prune()
