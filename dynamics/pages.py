"""One page of a collection read, and the strict parsing of Dataverse's collection envelope.

`{"@odata.context": ..., "value": [...], "@odata.nextLink": ..., "@odata.deltaLink": ...,
"@odata.count": ...}`. Every field is checked, so that a proxy's HTML page, a truncated body or
an unexpected shape becomes a MalformedResponse naming the URL instead of a KeyError far away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import MalformedResponse
from .http import JsonObject, Reply, parse_json_object


@dataclass
class Page:
    """One page of rows.

    `next_link`: URL of the next page (save it to resume a long read). `delta_link`: on the last
    page of a change-tracking read, the URL that returns later changes. `deleted_ids`: rows
    removed since the delta link was issued (change tracking only). `url`: the URL this page was
    read from. `count`: `@odata.count` when `$count=true` was asked (Dataverse caps it at 5,000).
    """

    rows: list[JsonObject]
    next_link: str | None = None
    delta_link: str | None = None
    deleted_ids: list[str] = field(default_factory=list)
    url: str = ""
    count: int | None = None


def same_service(url: str, api_url: str) -> bool:
    """True when `url` is on the same scheme, host and port as the Web API, under /api/data/.

    The client sends its bearer token only to such URLs: a next or delta link pointing anywhere
    else would leak it.
    """
    target, api = urlsplit(url), urlsplit(api_url)
    return (
        target.scheme.lower() == api.scheme.lower()
        and target.netloc.lower() == api.netloc.lower()
        and target.path.startswith("/api/data/")
    )


def parse_page(reply: Reply, *, api_url: str) -> Page:
    """Parse a collection response into a Page; raise MalformedResponse on anything odd."""
    data = parse_json_object(reply, what="collection")
    url = reply.url

    def malformed(problem: str) -> MalformedResponse:
        return MalformedResponse(f"collection response {problem}", status=reply.status, url=url)

    if "value" not in data:
        keys = ", ".join(sorted(data)[:6]) or "none"
        raise malformed(f"has no 'value' (keys: {keys})")
    value = data["value"]
    if not isinstance(value, list):
        raise malformed(f"has 'value' of type {type(value).__name__}, not a list")
    rows: list[JsonObject] = []
    deleted: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise malformed(f"has value[{index}] of type {type(item).__name__}, not an object")
        context = item.get("@odata.context")
        if isinstance(context, str) and context.endswith("/$deletedEntity"):
            row_id = item.get("id")
            if not isinstance(row_id, str) or not row_id:
                raise malformed(f"has a deleted entity at value[{index}] without an 'id'")
            deleted.append(row_id.lower())
        else:
            rows.append(item)
    links: dict[str, str | None] = {}
    for key in ("@odata.nextLink", "@odata.deltaLink"):
        link = data.get(key)
        if link is not None:
            if not isinstance(link, str) or not link:
                raise malformed(f"has {key} of type {type(link).__name__}, not a URL")
            if not same_service(link, api_url):
                raise malformed(f"has {key} outside the Web API ({link[:120]!r})")
        links[key] = link
    count = data.get("@odata.count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise malformed(f"has @odata.count of type {type(count).__name__}, not a number")
    if links["@odata.nextLink"] == url:
        raise malformed("has an @odata.nextLink pointing at the same page")
    return Page(
        rows=rows,
        next_link=links["@odata.nextLink"],
        delta_link=links["@odata.deltaLink"],
        deleted_ids=deleted,
        url=url,
        count=count,
    )
