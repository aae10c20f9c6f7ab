"""Strict readers for settings that come from the environment.

Every setting the portal reads from the environment goes through one of these helpers, so a
malformed value stops the process at start-up with a message that names the variable, instead of
surfacing later as a confusing failure (healthchecks' ``envbool`` is the model).
"""

import os
import re
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "") -> str:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean. Use one of: 1, 0, true, false, yes, no, on, off."
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small; the minimum is {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is too large; the maximum is {maximum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks around items are ignored, empty items refused."""
    value = _raw(name)
    if value is None or value == "":
        return list(default or [])
    items = [item.strip() for item in value.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(
            f"{name}={value!r} has an empty item; separate items with commas."
        )
    return items


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme must be one of ``schemes`` (e.g. ``postgres``, ``redis``)."""
    value = env_str(name, default)
    if not value:
        return value
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed} (got {value!r}).")
    return value


def env_url_map(name: str, *, schemes: tuple[str, ...] = ("http", "https")) -> dict[str, str]:
    """Comma-separated ``from=to`` pairs of URLs (``https://a:8443=http://a:8444``), as a dict
    keyed by the first URL without its trailing slash, lower-cased."""
    mapping = {}
    for item in env_list(name):
        source, equals, target = item.partition("=")
        urls = [source.strip().rstrip("/"), target.strip().rstrip("/")]
        valid = equals and all(
            "://" in url and url.split("://", 1)[0].lower() in schemes and url.split("://")[1]
            for url in urls
        )
        if not valid:
            allowed = " or ".join(f"{s}://" for s in schemes)
            raise ImproperlyConfigured(
                f"{name} takes comma-separated pairs FROM=TO of URLs starting with {allowed} "
                f"(got {item!r})."
            )
        mapping[urls[0].lower()] = urls[1]
    return mapping


def env_fernet_keys(name: str) -> list[bytes]:
    """A comma-separated list of Fernet keys, newest first; empty when unset.

    The messages say which item is wrong but never echo a value: these are secrets.
    """
    value = _raw(name)
    if not value:
        return []
    items = [item.strip() for item in value.split(",")]
    keys = []
    for position, item in enumerate(items, start=1):
        try:
            Fernet(item)
        except ValueError:
            which = f"item {position} of {len(items)} is not" if len(items) > 1 else "it is not"
            raise ImproperlyConfigured(
                f"{name} must be a Fernet key (32 bytes, url-safe base64 encoded), or a "
                f"comma-separated list of them, newest first; {which}."
            ) from None
        keys.append(item.encode())
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(
            f"{name} lists the same key twice; list each key once, newest first."
        )
    return keys


_ADDRESS = re.compile(r"^(?:(?P<name>[^<>@,\"]*?)\s*<(?P<quoted>[^<>\s]+)>|(?P<bare>[^<>\s]+))$")


def env_addresses(name: str) -> list[tuple[str, str]]:
    """A comma-separated list of email addresses, each ``Name <address>`` or a bare ``address``,
    as ``(name, address)`` pairs (Django's ``ADMINS``); empty when unset.

    Names may not hold commas, quotes or ``@``; every address must be a valid email address.
    """
    value = _raw(name)
    if not value:
        return []
    pairs = []
    for position, item in enumerate(value.split(","), start=1):
        match = _ADDRESS.match(item.strip())
        address = (match.group("quoted") or match.group("bare")) if match else ""
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(
                f"{name}: item {position} ({item.strip()!r}) is not an email address. Use "
                '"Name <address>" or "address", separated by commas, e.g. '
                '"Ops Team <ops@example.com>,oncall@example.com".'
            ) from None
        pairs.append(((match.group("name") or "").strip(), address))
    return pairs


def env_base_url(name: str, default: str = "") -> str:
    """A site's public address: ``https://host[:port]`` with an optional path, no query, no
    fragment, no user info; returned without a trailing slash."""
    value = env_url(name, default, schemes=("https", "http"))
    if not value:
        return value
    parts = urlsplit(value)
    if not parts.hostname or parts.query or parts.fragment or "@" in parts.netloc:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a site address; use e.g. https://crm-sync.example.com "
            "(an optional path, no query, fragment or user name)."
        )
    try:
        parts.port  # noqa: B018  (urlsplit checks the port only when asked)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} has an invalid port.") from None
    return value.rstrip("/")
