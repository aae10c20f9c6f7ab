"""Forms of the unresolved-task report: its search and sort, the record picked for an item, or
one to create."""

from django import forms

from common.lists import ListForm
from crm_settings.models import WritebackType
from network.models import Company, Member
from writeback.activities import CrmRecord
from writeback.models import RecordType
from writeback.selectors import UNRESOLVED_SORTS


class UnresolvedListForm(ListForm):
    """The report's search, item type filter and sort, read from the query string."""

    sorts = UNRESOLVED_SORTS
    FILTERS = ("q", "type")
    search_placeholder = "Name, company or text"

    type = forms.ChoiceField(
        label="Task",
        required=False,
        choices=[("", "All tasks"), *WritebackType.choices],
    )

    def selector_kwargs(self) -> dict:
        """The keyword arguments of ``unresolved_list`` for these filters."""
        return {"search": self.search, "item_type": self.value("type"), "sort": self.sort_key}


class ResolveForm(forms.Form):
    """The CRM record picked for an unresolved item: the hidden fields of a suggestion's button."""

    record_type = forms.ChoiceField(choices=RecordType.choices)
    record_id = forms.UUIDField()
    record_name = forms.CharField(max_length=200, required=False)

    def record(self) -> CrmRecord:
        data = self.cleaned_data
        return CrmRecord(type=data["record_type"], id=data["record_id"], name=data["record_name"])


class CrmRecordForm(forms.Form):
    """*Create record in CRM*: a contact or lead from the member's details, which the seat holder
    may edit first, or an account from the company's. Lengths are Dynamics' column limits."""

    record_type = forms.ChoiceField(label="Create a", widget=forms.RadioSelect)
    first_name = forms.CharField(label="First name", max_length=50)
    last_name = forms.CharField(
        label="Last name", max_length=50, error_messages={"required": "Dynamics needs a last name."}
    )
    email = forms.EmailField(label="Email", max_length=100, required=False)
    job_title = forms.CharField(label="Job title", max_length=100, required=False)
    company_name = forms.CharField(
        label="Company", max_length=100, required=False, help_text="Kept on leads only."
    )
    name = forms.CharField(label="Account name", max_length=160)
    website = forms.CharField(label="Website", max_length=200, required=False)

    _PERSON = ("first_name", "last_name", "email", "job_title", "company_name")
    _ACCOUNT = ("name", "website")

    def __init__(self, *args, for_company: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if for_company:
            self.fields["record_type"].choices = [(RecordType.ACCOUNT, "Account")]
            unused = self._PERSON
        else:
            self.fields["record_type"].choices = [
                (RecordType.CONTACT, "Contact"),
                (RecordType.LEAD, "Lead"),
            ]
            unused = self._ACCOUNT
        for name in unused:
            del self.fields[name]

    @staticmethod
    def initial_for(about: Member | Company) -> dict:
        """The form's starting values: what the portal knows of the member or company."""
        if isinstance(about, Company):
            website = f"https://{about.domain}" if about.domain else ""
            return {"record_type": RecordType.ACCOUNT, "name": about.name[:160], "website": website}
        company = about.company.name if about.company else about.company_name
        return {
            "record_type": RecordType.CONTACT,
            "first_name": about.first_name[:50],
            "last_name": about.last_name[:50],
            "email": about.email[:100],
            "job_title": about.headline[:100],
            "company_name": company[:100],
        }
