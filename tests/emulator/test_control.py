"""The control endpoint: rows, opportunities moving through the pipeline, counts, reset."""

from __future__ import annotations

import pytest

from .conftest import Api

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def org(emulator_factory):
    return emulator_factory(size="demo")


def test_counts_match_the_generated_org(org):
    counts = org.counts()
    assert (counts["accounts"], counts["contacts"], counts["opportunities"]) == (120, 400, 250)
    assert counts["li_inmails"] == 0


def test_rows_with_an_odata_filter(org):
    rows = org.rows("opportunities", filter="statecode eq 1 and actualvalue gt 0")
    assert rows and all(r["statecode"] == 1 and r["actualvalue"] > 0 for r in rows)
    assert all("@odata.etag" in r and r["_createdby_value"] for r in rows)


def test_create_opportunity_fills_what_dynamics_would(org):
    account = org.rows("accounts", top=1)[0]
    alex = org.user("alex.morgan@contoso-demo.com")["systemuserid"]
    created = org.create_opportunity(name="Control deal", estimatedvalue=5000.0,
                                     _parentaccountid_value=account["accountid"],
                                     _ownerid_value=alex, salesstage=1)
    assert created["statecode"] == 0 and created["statuscode"] == 1
    assert created["_customerid_value"] == account["accountid"]
    assert created["estimatedvalue_base"] == 5000.0
    assert created["stepname"] == "2-Develop"
    api = Api(org, org.token())
    read = api.get(f"opportunities({created['opportunityid']})?$select=name,_ownerid_value")
    assert read.json()["_ownerid_value"] == alex


def test_closing_won_bumps_the_version_and_defaults_actual_revenue(org):
    opportunity = org.create_opportunity(name="To be won", estimatedvalue=12000.0)
    won = org.patch_opportunity(opportunity["opportunityid"], statecode=1)
    assert won["statuscode"] == 3
    assert won["actualvalue"] == 12000.0 and won["actualclosedate"]
    assert won["versionnumber"] > opportunity["versionnumber"]
    reopened = org.patch_opportunity(opportunity["opportunityid"], statecode=0)
    assert reopened["statuscode"] == 1 and reopened["actualclosedate"] is None


def test_bad_values_are_stored_as_sent_for_the_import_to_meet(org):
    created = org.create_opportunity(name="Odd stage", salesstage="two")
    assert created["salesstage"] == "two" and created["stepname"] == "1-Qualify"
    patched = org.patch_opportunity(created["opportunityid"], salesstage=None)
    assert patched["salesstage"] is None


def test_unknown_columns_are_refused(org):
    response = org.http.post(f"{org.control_url}/opportunities", json={"stage": 2})
    assert response.status_code == 400 and "stage" in response.json()["error"]


def test_users_and_privileges_listing(org):
    users = {u["email"]: u for u in org.users()}
    assert users["readonly@contoso-demo.com"]["role"] == "readonly"
    assert "opportunity" not in users["readonly@contoso-demo.com"]["privileges"]["read"]
    assert users["integration@contoso-demo.com"]["privileges"]["delegate"] is True
    assert users["admin@contoso-demo.com"]["privileges"]["delegate"] is False
    assert users["portal-integration-app@contoso-demo.com"]["application_user"] is True


def test_reset_goes_back_to_the_seeded_org(org):
    first = org.rows("accounts", top=1)[0]
    org.delete_row("accounts", first["accountid"])
    org.set_linkedin_solution(False)
    org.set_faults(error_rate=0.5)
    result = org.reset()
    assert result["reset"] is True
    assert org.row("accounts", first["accountid"])["name"] == first["name"]
    assert org.counts()["accounts"] == 120
    assert org.faults()["error_rate"] == 0
    assert org.control("GET", "linkedin-solution")["installed"] is True
