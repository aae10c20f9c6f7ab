"""The environment URL is checked before any request is made."""

import pytest
from django.core.exceptions import ValidationError

from crm_settings.connect import environment_url_clean


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com"),
        ("  https://Contoso.CRM4.dynamics.com/ ", "https://contoso.crm4.dynamics.com"),
        (
            "https://contoso.api.crm.dynamics.com/api/data/v9.2/",
            "https://contoso.api.crm.dynamics.com",
        ),
        ("https://contoso.crm9.dynamics.com", "https://contoso.crm9.dynamics.com"),
        ("https://contoso.crm.microsoftdynamics.us", "https://contoso.crm.microsoftdynamics.us"),
    ],
)
def test_it_accepts_dynamics_environments(given, expected):
    assert environment_url_clean(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("http://contoso.crm.dynamics.com", "https://"),
        ("contoso.crm.dynamics.com", "https://"),
        ("https://evil.example.com", "is not a Dynamics 365 environment"),
        ("https://dynamics.com.evil.example", "is not a Dynamics 365 environment"),
        ("https://127.0.0.1:8443", "is not a Dynamics 365 environment"),
        ("https://user:pw@contoso.crm.dynamics.com", "user name or password"),
        ("", "https://"),
    ],
)
def test_it_refuses_anything_else(given, message):
    with pytest.raises(ValidationError, match=message):
        environment_url_clean(given)


def test_the_operator_can_allow_another_host(settings):
    settings.DYNAMICS_EXTRA_ALLOWED_HOSTS = ["127.0.0.1:8443"]
    assert environment_url_clean("https://127.0.0.1:8443/") == "https://127.0.0.1:8443"
    with pytest.raises(ValidationError):
        environment_url_clean("https://127.0.0.1:9999")
