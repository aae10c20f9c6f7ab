"""Loading the prospecting network from files (``import_network``) and from the demo generator."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from network.demo import network_seed
from network.loading import network_load, numbered
from network.models import Company, Member

pytestmark = pytest.mark.django_db

PEOPLE_CSV = """first_name,last_name,headline,company_name,email,profile_url
Ada,Lane,Head of Sales,Acme Inc,ada@acme.test,https://www.linkedin.com/in/ada-lane
,Nofirst,CTO,Acme,,https://www.linkedin.com/in/nofirst
Bad,Email,CTO,Acme,not-an-email,https://www.linkedin.com/in/bad-email
Bad,Url,CTO,Acme,,linkedin/in/bad-url
Ada,Again,Head of Sales,Acme,,https://www.linkedin.com/in/Ada-Lane/
"Quoted, Name",Multi,"A headline
over two lines",Globex,,https://www.linkedin.com/in/quoted
"""
COMPANIES_CSV = """name,domain,linkedin_url
Acme Inc,https://www.acme.test,https://www.linkedin.com/company/acme
Globex,,
,nameless.test,
Bad Domain,not a domain,
Acme again,acme.test,
"""


def _import(tmp_path, name: str, text: str, *args) -> str:
    path = tmp_path / name
    path.write_text(text)
    out = StringIO()
    call_command("import_network", str(path), *args, stdout=out)
    return out.getvalue()


def test_people_from_csv_with_a_report_of_rejected_rows(tmp_path):
    _import(tmp_path, "companies.csv", COMPANIES_CSV)
    report = _import(tmp_path, "people.csv", PEOPLE_CSV)
    assert "Members: 2 created, 0 updated." in report
    assert "Rejected: 4." in report
    assert "line 3: first_name is required" in report
    assert "line 4: email 'not-an-email' is not an email address" in report
    assert "line 5: profile_url 'linkedin/in/bad-url' is not an http(s) URL" in report
    assert "line 6: duplicate of line 2 (linkedin.com/in/ada-lane)" in report
    ada = Member.objects.get(first_name="Ada")
    assert ada.company.name == "Acme Inc" and ada.email == "ada@acme.test"
    assert Member.objects.get(last_name="Multi").headline == "A headline\nover two lines"


def test_companies_from_csv(tmp_path):
    report = _import(tmp_path, "companies.csv", COMPANIES_CSV)
    assert "Companies: 2 created, 0 updated." in report
    assert "line 4: name is required" in report
    assert "line 5: domain 'not a domain' is not a website or host name" in report
    assert "line 6: duplicate of line 2 (domain:acme.test)" in report
    assert Company.objects.get(name="Acme Inc").domain == "acme.test"


def test_loading_twice_changes_nothing(tmp_path):
    _import(tmp_path, "people.csv", PEOPLE_CSV)
    report = _import(tmp_path, "people.csv", PEOPLE_CSV)
    assert "Members: 0 created, 0 updated." in report and "Unchanged: 2." in report


def test_a_changed_row_is_updated(tmp_path):
    _import(tmp_path, "people.csv", PEOPLE_CSV)
    changed = PEOPLE_CSV.replace("Head of Sales,Acme Inc", "VP,Acme Inc")
    report = _import(tmp_path, "people.csv", changed)
    assert "Members: 0 created, 1 updated." in report
    assert Member.objects.get(first_name="Ada").headline == "VP"


def test_json_with_both_kinds(tmp_path):
    data = {
        "companies": [{"name": "Initech", "domain": "initech.test"}, {"domain": "x.test"}],
        "people": [
            {"first_name": "Bo", "last_name": "Bee", "company_name": "Initech",
             "profile_url": "https://www.linkedin.com/in/bo"},
            {"first_name": "No", "last_name": "Url"},
            "not an object",
        ],
    }  # fmt: skip
    report = _import(tmp_path, "network.json", json.dumps(data))
    assert "Companies: 1 created" in report and "Members: 1 created" in report
    assert "line 2: name is required" in report
    assert "line 2: profile_url is required" in report
    assert "line 3: not an object with named fields" in report
    assert Member.objects.get().company.name == "Initech"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", "{not json", "The file is not valid JSON"),
        ("list.json", "[]", 'Expected a JSON object with "companies" and/or "people" lists.'),
        ("odd.csv", "a,b\n1,2\n", "The CSV header has neither profile_url"),
        ("network.txt", "", "Say --format csv or --format json"),
    ],
)
def test_files_it_cannot_read(tmp_path, name, text, message):
    with pytest.raises(CommandError, match=message):
        _import(tmp_path, name, text)


def test_the_format_can_be_given(tmp_path):
    report = _import(tmp_path, "network.txt", COMPANIES_CSV, "--format", "csv")
    assert "Companies: 2 created" in report


def test_the_demo_network_loads_once():
    first = network_seed()
    assert first.members_created > 400 and first.companies_created > 100
    assert not first.rejected
    again = network_seed()
    assert not again.changed


def test_a_big_load_costs_queries_per_chunk_not_per_row(django_assert_max_num_queries):
    people = [
        {"first_name": f"P{i}", "last_name": "Person", "profile_url": f"https://li.test/in/{i}"}
        for i in range(1200)
    ]
    # A handful per chunk of 5,000 (SQLite splits an insert into batches of 999 parameters).
    with django_assert_max_num_queries(30):
        report = network_load(people=numbered(people))
    assert report.members_created == 1200


def test_a_company_is_updated_in_place_and_counted_once():
    network_load(companies=numbered([{"name": "Initech", "domain": "initech.test"}]))
    report = network_load(
        companies=numbered(
            [
                {"name": "Initech Corp", "domain": "https://www.initech.test/"},
                {"name": "Globex"},
            ]
        )
    )
    assert (report.companies_created, report.companies_updated, report.unchanged) == (1, 1, 0)
    assert Company.objects.get(domain="initech.test").name == "Initech Corp"
    again = network_load(companies=numbered([{"name": "Globex"}]))
    assert (again.companies_created, again.unchanged) == (0, 1)


def test_members_link_only_to_a_company_name_the_network_has_once():
    network_load(
        companies=numbered(
            [
                {"name": "Unique Ltd", "domain": "unique.test"},
                {"name": "Twin", "domain": "twin-a.test"},
                {"name": "Twin Inc", "domain": "twin-b.test"},
            ]
        )
    )
    people = [
        {"first_name": "A", "last_name": "One", "company_name": "unique",
         "profile_url": "https://li.test/in/a"},
        {"first_name": "B", "last_name": "Two", "company_name": "Twin",
         "profile_url": "https://li.test/in/b"},
    ]  # fmt: skip
    network_load(people=numbered(people))
    assert Member.objects.get(last_name="One").company.name == "Unique Ltd"
    assert Member.objects.get(last_name="Two").company is None


def test_a_member_whose_company_appears_is_relinked_as_an_update():
    person = {"first_name": "C", "last_name": "Three", "company_name": "Late Co",
              "profile_url": "https://li.test/in/c", "email": " C@Late.Test "}  # fmt: skip
    network_load(people=numbered([person]))
    assert Member.objects.get().email == "c@late.test"
    report = network_load(
        companies=numbered([{"name": "Late Co", "domain": "late.test"}]),
        people=numbered([person]),
    )
    assert (report.members_updated, report.unchanged) == (1, 0)
    assert Member.objects.get().company.name == "Late Co"


def test_values_come_out_as_they_went_in():
    """Tabs, newlines, backslashes and quotes survive COPY (PostgreSQL) and executemany."""
    odd = 'Tab\there, new\nline, back\\slash, "quote" and ünïcode'
    network_load(
        people=numbered(
            [
                {
                    "first_name": "D",
                    "last_name": "Four",
                    "headline": odd,
                    "profile_url": "https://li.test/in/d",
                }
            ]  # fmt: skip
        )
    )
    assert Member.objects.get().headline == odd


def test_only_changed_rows_get_a_new_updated_at():
    """The import re-checks the CRM contacts of members changed since its last run."""
    people = [
        {"first_name": "E", "last_name": f"Five{i}", "profile_url": f"https://li.test/in/e{i}"}
        for i in range(3)
    ]
    network_load(companies=numbered([{"name": "Stable", "domain": "stable.test"}]),
                 people=numbered(people))  # fmt: skip
    before = dict(Member.objects.values_list("last_name", "updated_at"))
    company_before = Company.objects.get().updated_at
    people[1]["headline"] = "Now a headline"
    network_load(companies=numbered([{"name": "Stable", "domain": "stable.test"}]),
                 people=numbered(people))  # fmt: skip
    after = dict(Member.objects.values_list("last_name", "updated_at"))
    assert [name for name in before if before[name] != after[name]] == ["Five1"]
    assert Company.objects.get().updated_at == company_before
