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
    `count_limit_exceeded`: `@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded` when that
    annotation was asked for (True: more rows match than the capped count says).
    """

    rows: list[JsonObject]
    next_link: str | None = None
    delta_link: str | None = None
    deleted_ids: list[str] = field(default_factory=list)
    url: str = ""
    count: int | None = None
    count_limit_exceeded: bool | None = None


COUNT_LIMIT = 5000
COUNT_LIMIT_EXCEEDED = "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


class RowCount(int):
    """A row count from Dataverse, which counts at most 5,000 rows ("Count rows using OData").

    It is the number (compare and add it like an int); `capped` is True when more rows match
    than it says, so the real number is unknown.
    """

    capped: bool

    def __new__(cls, value: int, *, capped: bool = False) -> RowCount:
        count = super().__new__(cls, value)
        count.capped = capped
        return count

    def __repr__(self) -> str:
        return f"RowCount({int(self)}, capped={self.capped})"


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
    exceeded = data.get(COUNT_LIMIT_EXCEEDED)
    if exceeded is not None and not isinstance(exceeded, bool):
        raise malformed(
            f"has {COUNT_LIMIT_EXCEEDED} of type {type(exceeded).__name__}, not true or false"
        )
    if links["@odata.nextLink"] == url:
        raise malformed("has an @odata.nextLink pointing at the same page")
    return Page(
        rows=rows,
        next_link=links["@odata.nextLink"],
        delta_link=links["@odata.deltaLink"],
        deleted_ids=deleted,
        url=url,
        count=count,
        count_limit_exceeded=exceeded,
    )
