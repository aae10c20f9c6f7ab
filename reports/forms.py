"""The reports' filters: GET forms whose bad values get a message, never an error page."""

import calendar
from datetime import date

from django import forms
from django.utils import timezone

from reports.audit import ACTION_NAMES
from reports.selectors import MATCH_ENTITIES, METHOD_PHRASES
from sync.models import MatchMethod

# How far back the won-revenue report goes unless asked otherwise: the current month and the 11
# before it.
DEFAULT_MONTHS = 12
MONTH_FORMAT = "%Y-%m"


def _months_back(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class MonthField(forms.DateField):
    """A month, as ``<input type="month">`` sends it (``2026-03``): its first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format=MONTH_FORMAT)
    input_formats = [MONTH_FORMAT]
    default_error_messages = {"invalid": "Enter a month as YYYY-MM, e.g. 2026-03."}


class WonRevenueFilter(forms.Form):
    start = MonthField(label="First month", required=False)
    end = MonthField(label="Last month", required=False)

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data is not None else {}, **kwargs)
        today = timezone.localdate()
        self.default_start = _months_back(today, DEFAULT_MONTHS)
        self.default_end = today.replace(day=1)

    def clean(self):
        cleaned = super().clean()
        start = cleaned.get("start") or self.default_start
        end = cleaned.get("end") or self.default_end
        if not self.errors and start > end:
            raise forms.ValidationError("The first month comes after the last; swap them.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def period(self) -> tuple[date, date]:
        """(first day, last day) of the months asked for, or of the default ones when the
        filter is invalid (the page shows the message beside the default period)."""
        if self.is_valid():
            return self.cleaned_data["start"], _month_end(self.cleaned_data["end"])
        return self.default_start, _month_end(self.default_end)

    def query(self) -> dict:
        start, end = self.period()
        return {"start": start.strftime(MONTH_FORMAT), "end": end.strftime(MONTH_FORMAT)}


class MatchFilter(forms.Form):
    entity = forms.ChoiceField(
        label="Records",
        choices=[(key, label) for key, (label, _, _) in MATCH_ENTITIES.items()],
        required=False,
    )
    method = forms.ChoiceField(label="Match", required=False)
    q = forms.CharField(label="Search", max_length=100, required=False, strip=True)

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data is not None else {}, **kwargs)
        methods = [m for _, (_, _, found) in MATCH_ENTITIES.items() for m in found]
        self.fields["method"].choices = [("", "Not matched")] + [
            (m.value, f"Matched by {METHOD_PHRASES[m]}") for m in dict.fromkeys(methods)
        ]

    def clean(self):
        cleaned = super().clean()
        cleaned["entity"] = cleaned.get("entity") or "contacts"
        method = cleaned.get("method") or MatchMethod.NONE
        _, _, methods = MATCH_ENTITIES[cleaned["entity"]]
        if method and method not in methods:
            label = MATCH_ENTITIES[cleaned["entity"]][0].lower()
            raise forms.ValidationError(
                f"{label.capitalize()} are never matched by {METHOD_PHRASES[method]}; "
                "choose another match."
            )
        cleaned["method"] = method
        return cleaned

    def values(self) -> dict:
        """entity, method and search for ``match_records``: the defaults when invalid."""
        if self.is_valid():
            data = self.cleaned_data
            return {"entity": data["entity"], "method": data["method"], "search": data["q"]}
        return {"entity": "contacts", "method": MatchMethod.NONE, "search": ""}


class AuditFilter(forms.Form):
    action = forms.ChoiceField(
        label="Change", choices=[("", "Every change"), *ACTION_NAMES.items()], required=False
    )
    q = forms.CharField(
        label="Who or what", max_length=100, required=False, strip=True,
        help_text="An email address or name, in who acted or what was changed.",
    )  # fmt: skip
    since = forms.DateField(
        label="First day", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Last day", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data is not None else {}, **kwargs)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The first day comes after the last; swap them.")
        return cleaned

    def values(self) -> dict:
        """action, search, since and until for ``audit_entries``: none when invalid."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "action": data["action"],
            "search": data["q"],
            "since": data["since"],
            "until": data["until"],
        }
