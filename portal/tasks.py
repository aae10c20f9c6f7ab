"""Background tasks owned by the portal shell."""

from django.utils import timezone

from portal.retention import retention_prune


def heartbeat() -> str:
    """Proves a worker is alive; /healthz and /readyz report when this last succeeded."""
    return timezone.now().isoformat()


def prune_old_records() -> dict[str, int]:
    """The hourly retention: old sync runs, audit entries and task results (portal.retention)."""
    return retention_prune()
