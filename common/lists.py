"""Sortable, searchable lists: Seat Management's pattern, shared by every list page.

A list declares its sortable columns once, as a ``Sorts``: each key names the expressions it
orders by, ascending (``"-key"`` reverses them). The list's form (``ListForm``) reads the search,
its filters and the sort from the query string; the selector orders with ``Sorts.ordering``; the
template's headers (``_sort_header.html``) link to the other direction and carry ``aria-sort``
from ``ListForm.headers``.
"""

from dataclasses import dataclass

from django import forms
from django.db.models import F, OrderBy
from django.http import QueryDict


@dataclass(frozen=True)
class SortHeader:
    """A sortable column's header: the sort its link asks for, and its ``aria-sort`` state."""

    link: str
    aria: str = ""


class Sorts:
    """The sortable columns of one list: ``{key: [expression or field name, ...]}``.

    A field name with a leading "-" (``"-sent_at"``) sorts the other way from its key, e.g. the
    newest first among items of the same type whichever way the types are sorted.

    ``default`` is the sort when none (or an unknown one) is asked for, e.g. ``"name"`` or
    ``"-started"``.
    """

    def __init__(self, columns: dict[str, list], *, default: str):
        if default.removeprefix("-") not in columns:
            raise ValueError(f"The default sort {default!r} is not one of the columns.")
        self.columns = columns
        self.default = default

    def choices(self) -> list[tuple[str, str]]:
        """Every sort a query string may ask for, both ways."""
        return [(f"{way}{key}", key) for key in self.columns for way in ("", "-")]

    def valid(self, sort: str) -> str:
        return sort if sort.removeprefix("-") in self.columns else self.default

    def ordering(self, sort: str) -> list[OrderBy]:
        """The ``order_by`` arguments of ``sort``.

        Rows without a value (NULL) come last whichever way the list is sorted, and the primary
        key breaks ties, so pages neither repeat nor skip rows.
        """
        sort = self.valid(sort)
        descending = sort.startswith("-")
        ordering = []
        for column in self.columns[sort.removeprefix("-")]:
            flip = isinstance(column, str) and column.startswith("-")
            expression = F(column.removeprefix("-")) if isinstance(column, str) else column
            ordering.append(
                expression.desc(nulls_last=True)
                if descending != flip
                else expression.asc(nulls_last=True)
            )
        ordering.append(F("pk").desc() if descending else F("pk").asc())
        return ordering

    def headers(self, sort: str) -> dict[str, SortHeader]:
        """For each column: the sort its header links to (the other direction when it is the
        current one), and its ``aria-sort``."""
        sort = self.valid(sort)
        headers = {}
        for key in self.columns:
            if sort == key:
                headers[key] = SortHeader(link=f"-{key}", aria="ascending")
            elif sort == f"-{key}":
                headers[key] = SortHeader(link=key, aria="descending")
            else:
                headers[key] = SortHeader(link=key)
        return headers


class ListForm(forms.Form):
    """A list's search (``q``), filters and sort, read from the query string.

    Subclasses set ``sorts`` and name their filter fields in ``FILTERS`` (``q`` included). Bound
    and validated when created. A value that is not one of a field's choices is ignored rather
    than refused: the list then shows everything that filter would have narrowed.
    """

    sorts: Sorts
    FILTERS: tuple[str, ...] = ("q",)
    search_placeholder = "Search"

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    sort = forms.ChoiceField(required=False, widget=forms.HiddenInput)

    def __init__(self, data: QueryDict, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["sort"].choices = self.sorts.choices()
        self.fields["q"].widget.attrs.setdefault("placeholder", self.search_placeholder)
        self.is_valid()

    def value(self, name: str) -> str:
        """The field's valid value, "" when absent or refused."""
        value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return value or ""

    @property
    def search(self) -> str:
        return " ".join(self.value("q").split())

    @property
    def sort_key(self) -> str:
        return self.sorts.valid(self.value("sort"))

    def ordering(self) -> list[OrderBy]:
        return self.sorts.ordering(self.sort_key)

    def headers(self) -> dict[str, SortHeader]:
        return self.sorts.headers(self.sort_key)

    def filtering(self) -> bool:
        return any(self.value(name) for name in self.FILTERS)

    def filter_values(self) -> list[tuple[str, str]]:
        """The filters as given, to carry them through a form that acts on the whole list."""
        return [(name, self.data.get(name, "")) for name in self.FILTERS]


def query_without_page(request) -> str:
    """The request's query string without ``page``, for the pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
