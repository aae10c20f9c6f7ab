"""Forms of the import's admin pages: Sync history's search, filters and sort."""

from django import forms

from common.lists import ListForm
from sync.models import SyncRun
from sync.selectors import HISTORY_SORTS


class HistoryFilterForm(ListForm):
    """Sync history's search, state and trigger filters and sort, read from the query string."""

    sorts = HISTORY_SORTS
    FILTERS = ("q", "state", "trigger")
    search_placeholder = "Error, problem or CRM id"

    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "All states"), *SyncRun.State.choices]
    )
    trigger = forms.ChoiceField(
        label="Trigger", required=False, choices=[("", "All triggers"), *SyncRun.Trigger.choices]
    )

    def selector_kwargs(self) -> dict:
        """The keyword arguments of ``sync_run_history`` for these filters."""
        return {
            "search": self.search,
            "state": self.value("state"),
            "trigger": self.value("trigger"),
            "sort": self.sort_key,
        }
