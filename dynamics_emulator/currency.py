"""Money in more than one currency, as Dataverse keeps it.

Every financial row has a transaction currency (`transactioncurrencyid`, the org's base currency
when none is given) and the platform fills, for each money column `x`, the read-only
`x_base` = `x` / the currency's `exchangerate` ("the exchange rate is the value of a transaction
currency equal to one base currency"), rounded to the currency's precision, and copies the rate
to the row's `exchangerate` column. Writes through the Web API and the control endpoint both
come through `base_amounts_set`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from .schema import Table


def base_amounts_set(store, table: Table, body: dict, *, base_currency_id: str) -> None:
    """Fill `body`'s currency (when missing), exchange rate and every `x_base` column."""
    if "transactioncurrencyid" not in table.by_name:
        return
    money = [a.name for a in table.attributes if a.type == "Money" and not a.base_of]
    currency_id = body.get("_transactioncurrencyid_value") or base_currency_id
    body["_transactioncurrencyid_value"] = currency_id
    currency = store.get_row("transactioncurrency", currency_id)
    rate = Decimal(str((currency.body if currency else {}).get("exchangerate") or 1))
    precision = (currency.body if currency else {}).get("currencyprecision", 2)
    body["exchangerate"] = float(rate)
    step = Decimal(1).scaleb(-precision)
    for name in money:
        value = body.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            body[f"{name}_base"] = value  # bad data a test stores on purpose, kept as sent
            continue
        base = (Decimal(str(value)) / rate).quantize(step, rounding=ROUND_HALF_EVEN)
        body[f"{name}_base"] = float(base)
