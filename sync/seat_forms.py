"""Forms of Seat Management: the seat list's filters and sort, a seat's edit, CRM user search."""

from django import forms
from django.http import QueryDict

from common.lists import ListForm
from seats.models import Role
from sync.seat_selectors import SEAT_SORTS

_YES_NO = {"yes": True, "no": False}


class SeatFilterForm(ListForm):
    """Search, filters and sort of the seat list, read from the query string (``ListForm``)."""

    sorts = SEAT_SORTS
    FILTERS = ("q", "role", "crm", "mapping", "sync")
    search_placeholder = "Name or email"

    role = forms.ChoiceField(
        label="Role", required=False, choices=[("", "All roles"), *Role.choices]
    )
    crm = forms.ChoiceField(
        label="In CRM",
        required=False,
        choices=[("", "All seats"), ("yes", "In CRM"), ("no", "Not in CRM")],
    )
    mapping = forms.ChoiceField(
        label="CRM user",
        required=False,
        choices=[("", "All seats"), ("yes", "Matched"), ("no", "Not Matched")],
    )
    sync = forms.ChoiceField(
        label="CRM sync",
        required=False,
        choices=[("", "All seats"), ("yes", "On"), ("no", "Off")],
    )

    def selector_kwargs(self) -> dict:
        """The keyword arguments of ``seat_list`` for these filters."""
        return {
            "search": self.search,
            "role": self.value("role"),
            "in_crm": _YES_NO.get(self.value("crm")),
            "matched": _YES_NO.get(self.value("mapping")),
            "sync_on": _YES_NO.get(self.value("sync")),
            "sort": self.sort_key,
        }


class SeatEditForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(
        label="Email",
        help_text="They sign in with it, and it is how the seat is matched to a CRM user.",
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class CrmUserSearchForm(forms.Form):
    """The search of *Assign seats from CRM*, bound to the query string and validated at once."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or email"}),
    )
    everyone = forms.BooleanField(
        label="Also show application, non-interactive and support users",
        required=False,
    )

    def __init__(self, data: QueryDict, **kwargs):
        super().__init__(data, **kwargs)
        self.is_valid()

    @property
    def search(self) -> str:
        return (self.cleaned_data.get("q") or "").strip()

    @property
    def shows_everyone(self) -> bool:
        return bool(self.cleaned_data.get("everyone"))

    def selector_kwargs(self) -> dict:
        """The keyword arguments of ``crm_users_assignable`` for this search."""
        return {"search": self.search, "everyone": self.shows_everyone}
