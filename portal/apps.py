from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def _create_cache_table(using: str, **kwargs) -> None:
    """Create the database cache's table (the shared sign-in limits) wherever ``migrate`` runs;
    nothing happens when it exists or when the cache is Redis. Django sends the signal once per
    app with models (this one has none), so this runs a few times: each is one look-up."""
    call_command("createcachetable", database=using, verbosity=0)


class PortalConfig(AppConfig):
    """The shell around the domain apps: home page, health check, schedules and the demo."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        post_migrate.connect(_create_cache_table, dispatch_uid="portal-cache-table")
