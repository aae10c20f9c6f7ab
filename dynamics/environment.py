"""Which environment URLs the portal may send a bearer token to: one strict rule for everyone.

The connect form, ``MsalAuth`` (whose scope names the environment) and ``DynamicsClient`` all
call ``environment_origin`` and use only what it returns. A lenient check once let
``https://127.0.0.1\\.crm.dynamics.com`` through: ``urlsplit`` read the host as
``127.0.0.1\\.crm.dynamics.com`` (a Dynamics host), urllib3 as ``127.0.0.1``, and the token went
there. So the URL is parsed once, every character that parsers read differently is refused, the
origin is rebuilt from the parsed host and port, and both the admin's text and the rebuilt origin
must give urllib3 (what requests connects with) exactly that host and port.

The rule, decided for issue 12:

- ``https`` only; anything after the host (the Web API path admins paste) is dropped.
- Printable ASCII only: no whitespace, control characters or non-ASCII (fullwidth or ideographic
  dots, look-alike letters), and no backslash anywhere.
- No ``@`` (user name, password, or an empty one) and no ``%`` (percent-encoding) in the host.
- Host names are ASCII letters, digits and hyphens in dot-separated labels (RFC 1123), in lower
  case (upper case is lowered, as DNS does). Punycode (``xn--``) labels are refused: no Dynamics
  environment has an international name, and refusing them removes every IDNA normalisation
  trick rather than some.
- A trailing dot is refused, not stripped: it names the same DNS host but would slip past an
  exact allowed-host comparison, so the admin is asked to remove it.
- IP literals of every form are refused: IPv6 in brackets, dotted IPv4, and the forms
  ``inet_aton`` and browsers also read as IPv4 (``2130706433``, ``0x7f000001``, ``0177.0.0.1``,
  ``127.1``): any host whose last label is a number.
- The host must end in a Dynamics suffix (``DYNAMICS_HOST_SUFFIXES``) on port 443, or be exactly
  one of the operator's ``extra_allowed_hosts`` entries (``host`` or ``host:port``, e.g. the
  emulator's ``127.0.0.1:8443``). That exact match is the only way an IP literal or another port
  passes; the character rules above apply to it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .errors import EnvironmentUrlRefused

# Host suffixes of Dynamics 365 environments in Microsoft's clouds (commercial, US government,
# China, Germany).
DYNAMICS_HOST_SUFFIXES = (
    ".dynamics.com",
    ".microsoftdynamics.us",
    ".appsplatform.us",
    ".dynamics.cn",
    ".microsoftdynamics.de",
)

HTTPS_PORT = 443
_EXAMPLE = "https://contoso.crm.dynamics.com"
_WHERE = "(Power Apps > Settings > Developer resources)"

# scheme://authority followed by nothing or by a path, query or fragment (the one parse).
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?:[/?#].*)?")
# host[:port], where host is a bracketed IPv6 literal or has no colon or bracket.
_AUTHORITY = re.compile(r"(?P<host>\[[^\[\]]*\]|[^:\[\]]*)(?::(?P<port>[^:]*))?")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A last label that inet_aton or a browser reads as (part of) an IPv4 address.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def environment_origin(value: str, *, extra_allowed_hosts: Iterable[str] = ()) -> str:
    """The environment's origin (``https://contoso.crm.dynamics.com``) or EnvironmentUrlRefused.

    ``value`` is what an admin typed or what was stored; any path is dropped. The returned origin
    is rebuilt from the checked host and port and is what every request must use.
    ``extra_allowed_hosts`` are the operator's exact ``host`` or ``host:port`` exceptions.
    """
    value = (value or "").strip()
    _refuse_odd_characters(value)
    match = _URL.fullmatch(value)
    if not value or match is None or match["scheme"].lower() != "https":
        raise EnvironmentUrlRefused(
            f"Enter the environment URL starting with https://, e.g. {_EXAMPLE}"
        )
    authority = match["authority"]
    if "@" in authority:
        raise EnvironmentUrlRefused(
            "The environment URL must not contain a user name or password (nothing may come "
            "before an @ in the address)."
        )
    if "%" in authority:
        raise EnvironmentUrlRefused(
            "The host name must not contain percent-encoded characters such as "
            f"{authority[authority.index('%') :][:3]}; type it as plain text, e.g. {_EXAMPLE}."
        )
    parts = _AUTHORITY.fullmatch(authority)
    if parts is None or not parts["host"]:
        raise EnvironmentUrlRefused(
            f"{authority or 'The address'} is not a host name with an optional port. "
            f"Use the address of your environment, e.g. {_EXAMPLE} {_WHERE}."
        )
    host = parts["host"].lower()
    port = _port(parts["port"])
    netloc = host if port == HTTPS_PORT else f"{host}:{port}"
    if netloc not in _allowed(extra_allowed_hosts):
        _check_dynamics_host(host, port)
    origin = f"https://{netloc}"
    if not _http_stack_agrees(value, origin, host=host, port=port):
        raise EnvironmentUrlRefused(
            f"The environment URL cannot be read unambiguously; enter it as {_EXAMPLE}."
        )
    return origin


def _refuse_odd_characters(value: str) -> None:
    for char in value:
        if char == "\\":
            raise EnvironmentUrlRefused(
                f"The environment URL must not contain a backslash (\\). Enter it as {_EXAMPLE}."
            )
        if not "!" <= char <= "~":
            if char == " ":
                what = "a space"
            elif char.isascii():
                what = "a control character"
            else:
                what = f"the character {char!r}"
            raise EnvironmentUrlRefused(
                f"The environment URL must not contain {what} (U+{ord(char):04X}). Type the "
                f"address in plain letters, e.g. {_EXAMPLE}."
            )


def _port(text: str | None) -> int:
    if not text:  # absent, or "host:" which every parser reads as the default port
        return HTTPS_PORT
    if not re.fullmatch(r"[0-9]{1,5}", text) or not 1 <= int(text) <= 65535:
        raise EnvironmentUrlRefused(
            f"The port after the host name must be a number from 1 to 65535, not {text[:12]!r}. "
            f"Dynamics 365 environments need no port: {_EXAMPLE}"
        )
    return int(text)


def _allowed(extra_allowed_hosts: Iterable[str]) -> set[str]:
    allowed = set()
    for entry in extra_allowed_hosts:
        entry = entry.strip().lower()
        if entry:
            allowed.add(entry.removesuffix(f":{HTTPS_PORT}"))
    return allowed


def _check_dynamics_host(host: str, port: int) -> None:
    """Refuse ``host`` unless it is a well-formed host name under a Dynamics suffix on 443."""
    if host.endswith("."):
        raise EnvironmentUrlRefused(f"Remove the dot at the end of the host name ({host}).")
    if host.startswith("[") or _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise EnvironmentUrlRefused(
            f"{host} is not a Dynamics 365 environment: it is an IP address. Use the address of "
            f"your environment, e.g. {_EXAMPLE} {_WHERE}."
        )
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise EnvironmentUrlRefused(
            f"{host} is not a valid host name: use letters a-z, digits and hyphens, with single "
            f"dots between the parts, e.g. {_EXAMPLE}."
        )
    if any(label.startswith("xn--") for label in labels):
        raise EnvironmentUrlRefused(
            f"{host} is an international (punycode) host name; Dynamics 365 environments have "
            f"plain names such as {_EXAMPLE}."
        )
    if not host.endswith(DYNAMICS_HOST_SUFFIXES):
        raise EnvironmentUrlRefused(
            f"{host} is not a Dynamics 365 environment. Use the address of your environment, "
            f"e.g. {_EXAMPLE} {_WHERE}."
        )
    if port != HTTPS_PORT:
        raise EnvironmentUrlRefused(
            f"Dynamics 365 environments answer on the standard https port: remove :{port} from "
            "the URL."
        )


def _http_stack_agrees(value: str, origin: str, *, host: str, port: int) -> bool:
    """Whether urllib3 (requests' parser) reads ``host`` and ``port`` from both texts.

    The rules above leave nothing that parsers read differently; this is the proof at run time,
    so a difference nobody thought of is refused instead of sending a token somewhere else.
    """
    for url in (value, origin):
        try:
            parsed = parse_url(url)
        except LocationParseError:
            return False
        if (parsed.scheme, parsed.auth, parsed.host, parsed.port or HTTPS_PORT) != (
            "https",
            None,
            host,
            port,
        ):
            return False
    return True
