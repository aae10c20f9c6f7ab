"""The matching keys: CRM rows and network rows compare through these, never raw text."""

import pytest

from network.normalize import (
    normalize_company,
    normalize_domain,
    normalize_email,
    normalize_name,
    normalize_profile_url,
    person_key,
)


@pytest.mark.parametrize(
    ("value", "domain"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("acme.com", "acme.com"),
        ("  HTTP://WWW.EXAMPLE.ORG  ", "example.org"),
        ("http://user:secret@acme.co.uk:8080/x?y=1#z", "acme.co.uk"),
        ("//acme.com", "acme.com"),
        ("acme.com?ref=crm", "acme.com"),
        ("www.acme.com.", "acme.com"),
        ("jo@Acme.com", "acme.com"),
        ("mailto:jo@acme.com", "acme.com"),
        # Not a domain: no dot, nothing, or a malformed URL (which must not raise).
        ("http://localhost", ""),
        ("acme", ""),
        ("", ""),
        (None, ""),
        ("[abc", ""),
        ("http://[acme.com/", ""),
    ],
)
def test_a_domain_is_the_bare_host(value, domain):
    assert normalize_domain(value) == domain


def test_names_lose_case_accents_and_punctuation():
    assert normalize_name("  Zoë  O'Brien-Smith ") == "zoe obrien smith"
    assert normalize_name("") == ""


def test_companies_lose_legal_suffixes_at_the_end_only():
    assert normalize_company("ACME, Inc.") == "acme"
    assert normalize_company("Acme Group Holdings") == "acme group holdings"
    # A name that is only a suffix keeps it.
    assert normalize_company("Group") == "group"


def test_an_email_without_an_at_sign_is_no_email():
    assert normalize_email(" Jo@Acme.COM ") == "jo@acme.com"
    assert normalize_email("not an email") == ""


def test_a_profile_url_is_host_and_path():
    assert (
        normalize_profile_url("https://www.linkedin.com/in/Jane-Doe/?x=1")
        == "linkedin.com/in/jane-doe"
    )
    assert normalize_profile_url("linkedin.com/in/jane-doe") == "linkedin.com/in/jane-doe"
    assert normalize_profile_url("") == ""


def test_a_person_key_needs_a_name_and_a_company():
    assert person_key("Zoë", "Smith", "ACME Inc") == "zoe smith|acme"
    assert person_key("Zoë", "Smith", "") == ""
    assert person_key("", "", "Acme") == ""
