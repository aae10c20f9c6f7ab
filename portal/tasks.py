"""Background tasks owned by the portal shell."""

from django.utils import timezone


def heartbeat() -> str:
    """Proves a worker is alive; /healthz reports when this last succeeded."""
    return timezone.now().isoformat()
