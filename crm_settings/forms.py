"""The forms of CRM Settings, worded as in the seed guide."""

from django import forms

from crm_settings.connect import environment_url_clean, tenant_clean
from crm_settings.models import CrmSettings

NOT_SURE = "not_sure"
YES_NO = [("yes", "Yes"), ("no", "No")]


def _yes(value) -> bool:
    return value == "yes"


class ConnectForm(forms.Form):
    environment_url = forms.CharField(
        label="Dynamics environment URL",
        max_length=300,
        help_text="For example https://contoso.crm.dynamics.com (Power Apps > Settings > "
        "Developer resources > Web API endpoint also works).",
        widget=forms.URLInput(attrs={"placeholder": "https://contoso.crm.dynamics.com"}),
    )
    tenant = forms.CharField(
        label="Microsoft Entra tenant (only if needed)",
        required=False,
        max_length=100,
        help_text="Leave blank unless your admin account belongs to several directories; then "
        "enter your tenant's domain (contoso.onmicrosoft.com) or directory ID.",
    )

    def clean_environment_url(self):
        return environment_url_clean(self.cleaned_data["environment_url"])

    def clean_tenant(self):
        return tenant_clean(self.cleaned_data["tenant"])


class SyncSettingsForm(forms.Form):
    """The three questions of "Configure Your Sales Navigator CRM Settings".

    The stage and won-value choices come from the CRM's metadata. When it cannot be read
    (``stage_options`` / ``money_columns`` is None), the field offers only the saved answer and
    is disabled, so saving the form keeps it.
    """

    auto_sync = forms.TypedChoiceField(
        label=CrmSettings._meta.get_field("auto_sync").verbose_name,
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
        help_text="We recommend Yes. With No, enable sync per seat holder on Admin / Seat "
        "Management.",
    )
    pipeline_stage = forms.ChoiceField(
        label=CrmSettings._meta.get_field("pipeline_stage").verbose_name,
        help_text="Fields available depend on your CRM settings; Not Sure still works and pulls "
        "all open opportunities.",
    )
    won_value_column = forms.ChoiceField(
        label=CrmSettings._meta.get_field("won_value_column").verbose_name,
        help_text="Fields available depend on your CRM settings; Not Sure still works (the "
        "standard Actual Revenue field is used).",
    )
    contact_profile_url_column = forms.RegexField(
        label=CrmSettings._meta.get_field("contact_profile_url_column").verbose_name,
        regex=r"^[a-z][a-z0-9_]*$",
        max_length=100,
        required=False,
        help_text=CrmSettings._meta.get_field("contact_profile_url_column").help_text,
        error_messages={
            "invalid": "Enter the column's logical name: lower-case letters, digits and "
            "underscores, e.g. new_linkedinprofile."
        },
    )
    sync_interval_minutes = forms.IntegerField(
        label="Sync every (minutes)",
        min_value=5,
        max_value=1440,
        help_text="How often the import runs on its own, between 5 minutes and a day.",
    )

    def __init__(self, *args, crm_settings: CrmSettings, stage_options, money_columns, **kwargs):
        initial = {
            "auto_sync": "yes" if crm_settings.auto_sync else "no",
            "pipeline_stage": (
                NOT_SURE
                if crm_settings.pipeline_stage is None
                else str(crm_settings.pipeline_stage)
            ),
            "won_value_column": crm_settings.won_value_column or NOT_SURE,
            "contact_profile_url_column": crm_settings.contact_profile_url_column,
            "sync_interval_minutes": crm_settings.sync_interval_minutes,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.crm_settings = crm_settings
        self.stage_options = stage_options
        self.money_columns = money_columns
        stage = self.fields["pipeline_stage"]
        if stage_options is None:
            saved = crm_settings.pipeline_stage_label or "Not Sure"
            stage.choices = [(initial["pipeline_stage"], saved)]
            stage.disabled = True
        else:
            stage.choices = [(str(o.value), o.label) for o in stage_options] + [
                (NOT_SURE, "Not Sure")
            ]
        won = self.fields["won_value_column"]
        if money_columns is None:
            saved = crm_settings.won_value_label or "Not Sure"
            won.choices = [(initial["won_value_column"], saved)]
            won.disabled = True
        else:
            won.choices = [(c.logical_name, f"{c.label} ({c.logical_name})") for c in money_columns]
            won.choices += [(NOT_SURE, "Not Sure")]

    def values(self) -> dict:
        """The cleaned answers in the shape ``sync_settings_update`` takes."""
        data = self.cleaned_data
        values = {
            "auto_sync": data["auto_sync"],
            "contact_profile_url_column": data["contact_profile_url_column"],
            "sync_interval_minutes": data["sync_interval_minutes"],
        }
        if self.stage_options is not None:
            if data["pipeline_stage"] == NOT_SURE:
                values.update(pipeline_stage=None, pipeline_stage_label="")
            else:
                value = int(data["pipeline_stage"])
                label = next(o.label for o in self.stage_options if o.value == value)
                values.update(pipeline_stage=value, pipeline_stage_label=label)
        if self.money_columns is not None:
            if data["won_value_column"] == NOT_SURE:
                values.update(won_value_column="", won_value_label="")
            else:
                column = next(
                    c for c in self.money_columns if c.logical_name == data["won_value_column"]
                )
                values.update(won_value_column=column.logical_name, won_value_label=column.label)
        return values

    def stage_options_json(self) -> list[dict]:
        return [{"value": o.value, "label": o.label} for o in self.stage_options or []]


class WritebackForm(forms.Form):
    writeback_enabled = forms.TypedChoiceField(
        label=CrmSettings._meta.get_field("writeback_enabled").verbose_name,
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    writeback_all = forms.TypedChoiceField(
        label="What to sync back",
        choices=[
            ("all", "Sync back all data items (recommended)"),
            ("choose", "Choose the items to sync back"),
        ],
        coerce=lambda v: v == "all",
        widget=forms.RadioSelect,
    )
    writeback_inmails = forms.BooleanField(label="InMails", required=False)
    writeback_messages = forms.BooleanField(label="Messages", required=False)
    writeback_notes = forms.BooleanField(label="Notes", required=False)

    def __init__(self, *args, crm_settings: CrmSettings, **kwargs):
        initial = {
            "writeback_enabled": "yes" if crm_settings.writeback_enabled else "no",
            "writeback_all": "all" if crm_settings.writeback_all else "choose",
            "writeback_inmails": crm_settings.writeback_inmails,
            "writeback_messages": crm_settings.writeback_messages,
            "writeback_notes": crm_settings.writeback_notes,
        }
        super().__init__(*args, initial=initial, **kwargs)


class DisconnectForm(forms.Form):
    purge = forms.BooleanField(
        label="Yes, clean up all previously imported CRM data",
        required=False,
        help_text="Deletes the imported accounts, leads and CRM records listed above. What seat "
        "holders saved or wrote themselves is kept.",
    )


class PauseSettingsForm(forms.Form):
    """How many failures in a row pause the sync, or writeback (``crm_settings.pausing``)."""

    pause_after_failures = forms.IntegerField(
        label=CrmSettings._meta.get_field("pause_after_failures").verbose_name,
        min_value=1,
        max_value=100,
        help_text=CrmSettings._meta.get_field("pause_after_failures").help_text,
    )
