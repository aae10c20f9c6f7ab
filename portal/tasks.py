"""Background tasks owned by the portal shell."""

from django.utils import timezone

# The task by name, as the schedule calls it and /healthz finds its results.
HEARTBEAT = "portal.tasks.heartbeat"


def heartbeat() -> str:
    """Proves a worker is alive; /healthz reports when this last succeeded."""
    return timezone.now().isoformat()
