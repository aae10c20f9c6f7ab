"""Django system checks of the alerts' configuration."""

from django.conf import settings
from django.core.checks import Warning, register

# Alert emails are sent by tasks, which have no request to take the portal's address from.
W001 = Warning(
    "PORTAL_BASE_URL is not set, so alert emails cannot link to the page that fixes each "
    "problem (they name the page instead).",
    hint="Set PORTAL_BASE_URL to the portal's public address, e.g. https://crm-sync.example.com.",
    id="alerts.W001",
)


@register(deploy=True)
def base_url_check(app_configs, **kwargs):
    return [] if settings.PORTAL_BASE_URL else [W001]
