"""Every model is in the Django admin, and every changelist opens (with a search)."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import (
    CrmAccountFactory,
    CrmContactFactory,
    CrmOpportunityFactory,
    CrmUserFactory,
    UserFactory,
)

OUR_APPS = {"seats", "crm_settings", "network", "sync", "inbox", "writeback", "alerts"}


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_every_model_of_ours_is_registered():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if m._meta.app_label in OUR_APPS],
    ids=lambda m: m._meta.label,
)
def test_every_changelist_opens_and_searches(staff_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert staff_client.get(url).status_code == 200
    if admin.site._registry[model].search_fields:
        assert staff_client.get(url, {"q": "x"}).status_code == 200


def test_every_model_has_a_proper_plural_in_the_staff_admin():
    """The staff admin said "Record matchs": Django only adds an "s"."""
    naive = re.compile(r"(s|x|z|ch|sh|[^aeiou]y)s$")
    wrong = [
        f"{model._meta.label}: {model._meta.verbose_name_plural}"
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and naive.search(str(model._meta.verbose_name_plural))
    ]
    assert wrong == []


@pytest.mark.parametrize("model", ["crmuser", "crmaccount", "crmcontact", "crmopportunity"])
def test_mirrored_crm_tables_are_read_only(staff_client, contract, model):
    """The mirror offered an *Add* form: rows only the import writes, from Dynamics."""
    factory = {
        "crmuser": CrmUserFactory,
        "crmaccount": CrmAccountFactory,
        "crmcontact": CrmContactFactory,
        "crmopportunity": CrmOpportunityFactory,
    }[model]
    row = factory(contract=contract)
    changelist = staff_client.get(reverse(f"admin:sync_{model}_changelist")).content.decode()
    assert reverse(f"admin:sync_{model}_add") not in changelist
    assert staff_client.get(reverse(f"admin:sync_{model}_add")).status_code == 403
    change_url = reverse(f"admin:sync_{model}_change", args=[row.pk])
    page = staff_client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert staff_client.post(change_url, {}).status_code == 403
    delete_url = reverse(f"admin:sync_{model}_delete", args=[row.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()
