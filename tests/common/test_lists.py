"""The shared list helpers: sorts both ways with a stable tie-breaker, and forms that ignore what
they do not know."""

import pytest
from django import forms
from django.http import QueryDict

from common.lists import ListForm, SortHeader, Sorts

SORTS = Sorts({"name": ["name", "-created"], "size": ["size", "name"]}, default="-size")


class _Form(ListForm):
    sorts = SORTS
    FILTERS = ("q", "kind")
    kind = forms.ChoiceField(required=False, choices=[("", "All"), ("a", "A")])


def test_a_sort_orders_by_its_columns_then_the_primary_key_with_empty_values_last():
    ascending = [str(order) for order in SORTS.ordering("size")]
    descending = [str(order) for order in SORTS.ordering("-size")]
    assert ascending == [
        "OrderBy(F(size), descending=False)",
        "OrderBy(F(name), descending=False)",
        "OrderBy(F(pk), descending=False)",
    ]
    assert descending[0] == "OrderBy(F(size), descending=True)"
    assert all(order.nulls_last for order in SORTS.ordering("-size")[:-1])


def test_a_column_named_with_a_minus_sorts_the_other_way_from_its_key():
    assert [order.descending for order in SORTS.ordering("name")] == [False, True, False]
    assert [order.descending for order in SORTS.ordering("-name")] == [True, False, True]


def test_an_unknown_sort_falls_back_to_the_default():
    assert SORTS.valid("colour") == "-size"
    assert SORTS.valid("-name") == "-name"


def test_the_current_column_links_to_the_other_direction():
    assert SORTS.headers("name") == {
        "name": SortHeader(link="-name", aria="ascending"),
        "size": SortHeader(link="size"),
    }
    assert SORTS.headers("")["size"] == SortHeader(link="size", aria="descending")


def test_a_default_that_is_not_a_column_is_refused():
    with pytest.raises(ValueError, match="not one of the columns"):
        Sorts({"name": ["name"]}, default="size")


def test_the_form_ignores_values_it_does_not_offer():
    form = _Form(QueryDict("q=%20acme%20%20inc&kind=z&sort=colour"))
    assert form.search == "acme inc"
    assert form.value("kind") == ""
    assert form.sort_key == "-size"
    assert form.filtering() is True
    assert _Form(QueryDict("sort=name")).filtering() is False
