"""Currencies as Dataverse keeps them: a transactioncurrencies table, each financial row's
transaction currency and exchange rate, and `x_base` = `x` / the rate."""

from __future__ import annotations

import pytest

from .conftest import Api

pytestmark = pytest.mark.emulator

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NO_SUCH_ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def org(emulator_factory):
    return emulator_factory(size="demo")


@pytest.fixture(scope="module")
def api(org):
    return Api(org, org.token())


def _currencies(api) -> dict[str, dict]:
    response = api.get(
        "transactioncurrencies?$select=isocurrencycode,currencysymbol,"
        "currencyname,exchangerate,currencyprecision,statecode"
    )
    assert response.status_code == 200
    return {row["isocurrencycode"]: row for row in response.json()["value"]}


def test_the_org_has_a_base_currency_and_two_others(api):
    currencies = _currencies(api)
    assert set(currencies) == {"USD", "EUR", "GBP"}
    assert currencies["USD"]["exchangerate"] == 1.0
    assert (currencies["EUR"]["currencysymbol"], currencies["EUR"]["currencyname"]) == ("€", "Euro")
    assert all(c["currencyprecision"] == 2 and c["statecode"] == 0 for c in currencies.values())


def test_opportunities_are_in_several_currencies_with_base_amounts(api):
    by_id = {c["transactioncurrencyid"]: c for c in _currencies(api).values()}
    rows = api.get(
        "opportunities?$select=estimatedvalue,estimatedvalue_base,exchangerate,"
        "_transactioncurrencyid_value"
    ).json()["value"]
    seen = set()
    for row in rows:
        currency = by_id[row["_transactioncurrencyid_value"]]
        seen.add(currency["isocurrencycode"])
        assert row["exchangerate"] == currency["exchangerate"]
        assert row["estimatedvalue_base"] == round(row["estimatedvalue"] / row["exchangerate"], 2)
    assert seen == {"USD", "EUR", "GBP"}


def test_the_currency_lookup_is_named_after_the_currency(api):
    euro = _currencies(api)["EUR"]["transactioncurrencyid"]
    response = api.get(
        f"opportunities?$select=name,_transactioncurrencyid_value"
        f"&$filter=_transactioncurrencyid_value eq {euro}&$top=1",
        prefer='odata.include-annotations="*"',
    )
    row = response.json()["value"][0]
    assert row[f"_transactioncurrencyid_value{FORMATTED}"] == "Euro"


def test_a_write_in_a_currency_fills_the_base_amount_and_the_rate(api):
    pound = _currencies(api)["GBP"]["transactioncurrencyid"]
    response = api.post(
        "opportunities?$select=estimatedvalue_base,exchangerate,_transactioncurrencyid_value",
        prefer="return=representation",
        json={
            "name": "Sterling deal",
            "estimatedvalue": 7900,
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({pound})",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["_transactioncurrencyid_value"] == pound
    assert (body["estimatedvalue_base"], body["exchangerate"]) == (10000.0, 0.79)


def test_a_write_without_a_currency_is_in_the_base_currency(api):
    dollar = _currencies(api)["USD"]["transactioncurrencyid"]
    response = api.post(
        "opportunities?$select=estimatedvalue_base,_transactioncurrencyid_value",
        prefer="return=representation",
        json={"name": "Dollar deal", "estimatedvalue": 1234.5},
    )
    body = response.json()
    assert body["_transactioncurrencyid_value"] == dollar
    assert body["estimatedvalue_base"] == 1234.5


def test_binding_a_currency_that_does_not_exist_is_404(api):
    response = api.post(
        "opportunities",
        json={
            "name": "Nowhere",
            "transactioncurrencyid@odata.bind": f"/transactioncurrencies({NO_SUCH_ID})",
        },
    )
    assert response.status_code == 404
