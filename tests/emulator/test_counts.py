"""`$count=true` and `/$count` over 5,000 rows: capped, with the limit annotation (count-rows)."""

import pytest

from .conftest import Api

pytestmark = pytest.mark.emulator

LIMIT_ANNOTATIONS = ('odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
                     'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"')


@pytest.fixture(scope="module")
def api(emulator_factory) -> Api:
    medium = emulator_factory(size="medium")  # 20,000 contacts
    return Api(medium, medium.token())


def test_count_true_over_the_limit_is_5000_with_limit_exceeded(api):
    body = api.get("contacts?$select=contactid&$count=true",
                   prefer=f"odata.maxpagesize=2,{LIMIT_ANNOTATIONS}").json()
    assert body["@odata.count"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == 5000
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    assert len(body["value"]) == 2


def test_count_true_under_the_limit_is_exact(api):
    body = api.get("contacts?$select=contactid&$count=true&$filter=lastname eq 'Nobody-x'",
                   prefer=LIMIT_ANNOTATIONS).json()
    assert body["@odata.count"] == 0
    assert body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is False


def test_without_count_true_the_total_is_minus_one(api):
    body = api.get("accounts?$select=name&$top=1", prefer=LIMIT_ANNOTATIONS).json()
    assert body["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert "@odata.count" not in body


def test_the_count_segment_is_plain_text_capped_at_5000(api):
    response = api.get("contacts/$count")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "5000"
