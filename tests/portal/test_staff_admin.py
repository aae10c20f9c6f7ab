"""Every model is in the Django admin, and every changelist opens (with a search)."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory

OUR_APPS = {"seats", "crm_settings", "network", "sync", "inbox", "writeback"}


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
