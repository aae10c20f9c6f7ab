"""The search, filter and sort of the seat holder's Accounts and Leads lists (``common.lists``).

The stage, value and owner columns sort by annotations of ``sync.selectors.
saves_with_opportunity`` and the last activity by ``inbox.selectors.saves_with_last_activity``,
which the list views apply before ordering.
"""

from django import forms
from django.db.models.functions import Coalesce, Lower

from common.lists import ListForm, Sorts

_SOURCES = {"crm": True, "manual": False}
_CRM_COLUMNS = {
    "stage": ["opportunity_stage_rank"],
    "value": ["opportunity_value"],
    "owner": [Lower("opportunity_owner")],
    "last_activity": ["last_activity_at"],
    "saved": ["saved_at"],
}
ACCOUNT_SORTS = Sorts(
    {
        "name": [Lower("company__name")],
        "website": [Lower("company__domain"), Lower("company__name")],
        **_CRM_COLUMNS,
    },
    default="name",
)
LEAD_SORTS = Sorts(
    {
        "name": [Lower("member__last_name"), Lower("member__first_name")],
        "company": [
            Lower(Coalesce("member__company__name", "member__company_name")),
            Lower("member__last_name"),
        ],
        **_CRM_COLUMNS,
    },
    default="name",
)


class _SavedListForm(ListForm):
    FILTERS = ("q", "source")

    source = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "All saved"), ("crm", "From CRM"), ("manual", "Saved by me")],
    )

    @property
    def from_crm(self) -> bool | None:
        """The "from CRM" filter: True, False, or None for everything."""
        return _SOURCES.get(self.value("source"))


class AccountListForm(_SavedListForm):
    sorts = ACCOUNT_SORTS
    search_placeholder = "Company or website"


class LeadListForm(_SavedListForm):
    sorts = LEAD_SORTS
    search_placeholder = "Name, headline or company"
