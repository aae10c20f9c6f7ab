from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The shell around the domain apps: home page, health check, schedules and the demo."""

    name = "portal"
    verbose_name = "Portal"
