"""Normalising names, companies, domains and profile URLs so CRM rows and network rows compare.

Matching (the import's and writeback's) compares these keys, never raw strings: "ACME, Inc." and
"Acme" are one company, "https://www.acme.com/about" and "acme.com" one domain.
"""

import re
import unicodedata
from urllib.parse import urlsplit

_COMPANY_SUFFIXES = {
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "sa", "sas", "srl", "bv", "nv", "plc", "pty", "oy", "ab", "as", "kk", "group",
}  # fmt: skip
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _ascii_lower(text: str) -> str:
    text = text or ""
    if text.isascii():
        # Most names need no decomposition; skipping it halves the import's time spent here.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def normalize_name(text: str) -> str:
    """'  Zoë  O'Brien-Smith ' -> 'zoe obrien smith'."""
    words = _NON_WORD.sub(" ", _ascii_lower(text).replace("'", "")).split()
    return " ".join(words)


def normalize_company(text: str) -> str:
    """'ACME, Inc.' -> 'acme'; legal suffixes at the end are dropped, not in the middle."""
    words = normalize_name(text).split()
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words)


# A URL's host: after an optional scheme, "//" and user info, up to a port, path, query or fragment.
_URL_HOST = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?(?://)?(?:[^/?#@]*@)?([^/?#:@\[\]]*)")


def normalize_domain(value: str) -> str:
    """A bare lower-case host from a website URL, a host or an email address; '' if none.

    A plain pattern rather than ``urlsplit``: this runs for every account of a large import, and
    a malformed website (an unclosed ``[``) must give '' rather than an error.
    """
    value = (value or "").strip().lower()
    if not value:
        return ""
    if "@" in value and "/" not in value:
        value = value.rsplit("@", 1)[1]
    host = _URL_HOST.match(value).group(1).strip().strip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if "." in host else ""


def normalize_email(value: str) -> str:
    value = (value or "").strip().lower()
    return value if "@" in value else ""


# The common spelling of a profile URL (scheme, plain host, optional port, a path without
# characters urlsplit would drop), taken apart without urlsplit; anything else goes through it.
_PLAIN_URL = re.compile(r"(?:https?:)?//([A-Za-z0-9.-]+)(?::[0-9]*)?((?:/[^?#\t\r\n]*)?)")


def normalize_profile_url(value: str) -> str:
    """'https://www.linkedin.com/in/Jane-Doe/?x=1' -> 'linkedin.com/in/jane-doe'."""
    value = (value or "").strip()
    if not value:
        return ""
    if "://" not in value:
        value = "//" + value
    plain = _PLAIN_URL.match(value)
    if plain is not None and (plain.end() == len(value) or value[plain.end()] in "?#"):
        host, path = plain.group(1).lower(), plain.group(2)
    else:
        parts = urlsplit(value)
        host, path = (parts.hostname or "").lower(), parts.path
    if host.startswith("www."):
        host = host[4:]
    path = path.rstrip("/").lower()
    return f"{host}{path}" if host else ""


def person_key(first_name: str, last_name: str, company: str) -> str:
    """The name-plus-company key people are matched on when email and profile URL fail."""
    name = normalize_name(f"{first_name} {last_name}")
    company = normalize_company(company)
    return f"{name}|{company}" if name and company else ""
