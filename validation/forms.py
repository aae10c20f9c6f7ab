"""The Data validation page's search, filters and sort, read from the query string."""

from django import forms

from common.lists import ListForm
from seats.models import Seat
from sync.models import FlagReason
from validation.selectors import FLAG_SORTS, flag_owner_choices


class _SeatChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.user.email


class FlagListForm(ListForm):
    """Search, reason, owner (admins only: a seat holder sees their own Leads) and dismissed."""

    sorts = FLAG_SORTS
    FILTERS = ("q", "reason", "owner", "dismissed")
    search_placeholder = "Contact, email or account"

    reason = forms.ChoiceField(
        label="Reason", required=False, choices=[("", "All reasons"), *FlagReason.choices]
    )
    owner = _SeatChoice(
        label="Lead of", required=False, queryset=Seat.objects.none(), empty_label="Everyone"
    )
    dismissed = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "Flags to look at"), ("yes", "Dismissed flags")],
    )

    def __init__(self, data, *, seat: Seat, **kwargs):
        self.seat = seat
        super().__init__(data, **kwargs)

    def full_clean(self):
        # The owner filter is the admins' (before validation, which __init__ runs).
        if self.seat.is_admin:
            self.fields["owner"].queryset = flag_owner_choices(seat=self.seat)
        else:
            del self.fields["owner"]
        super().full_clean()

    def selector_kwargs(self) -> dict:
        """The keyword arguments of ``flags_list`` for these filters."""
        return {
            "search": self.search,
            "reason": self.value("reason"),
            "owner": self.value("owner") or None,
            "dismissed": self.value("dismissed") == "yes",
            "sort": self.sort_key,
        }


class FollowUpForm(forms.Form):
    """Whose follow-up task it is: one of the contact's owners (a seat holder: themselves)."""

    seat = forms.IntegerField(required=False)
