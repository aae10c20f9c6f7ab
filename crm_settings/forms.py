"""The forms of CRM Settings, worded as in the seed guide."""

from django import forms

from crm_settings.connect import environment_url_clean, tenant_clean
from crm_settings.models import CrmSettings
from crm_settings.selectors import CrmChoices

NOT_SURE = "not_sure"
NOT_SURE_LABEL = "Not Sure"
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

    The stage and won-value choices are the org's, as last read from its metadata and stored on
    the connection (``CrmChoices``); the form never asks Dynamics. Until they are loaded, the
    field offers only the saved answer and is disabled, so saving the form keeps it. A value not
    in the stored set (an old page, or an option removed in Dynamics since) is refused with a
    message saying so.
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

    def __init__(self, *args, crm_settings: CrmSettings, choices: CrmChoices, **kwargs):
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
        self.choices = choices
        stage = self.fields["pipeline_stage"]
        won = self.fields["won_value_column"]
        if not choices.loaded:
            stage.choices = [
                (initial["pipeline_stage"], crm_settings.pipeline_stage_label or NOT_SURE_LABEL)
            ]
            won.choices = [
                (initial["won_value_column"], crm_settings.won_value_label or NOT_SURE_LABEL)
            ]
            stage.disabled = won.disabled = True
            return
        stage.choices = [(str(o.value), o.label) for o in choices.stage_options]
        stage.choices += [(NOT_SURE, NOT_SURE_LABEL)]
        won.choices = [
            (c.logical_name, f"{c.label} ({c.logical_name})") for c in choices.money_columns
        ]
        won.choices += [(NOT_SURE, NOT_SURE_LABEL)]
        stage.error_messages["invalid_choice"] = (
            "Select a valid choice: %(value)s is not one of your CRM's sales stages as last read "
            "from it. If it was just added in Dynamics, select Refresh from CRM, then choose it."
        )
        won.error_messages["invalid_choice"] = (
            "Select a valid choice: %(value)s is not one of your CRM's opportunity money fields as "
            "last read from it. If it was just added in Dynamics, select Refresh from CRM, then "
            "choose it."
        )
        # A saved answer the CRM no longer offers stays visible, marked, so it is not silently
        # swapped for the first option; saving it is refused (``clean_*``).
        saved_stage = crm_settings.pipeline_stage
        if saved_stage is not None and choices.stage(saved_stage) is None:
            label = crm_settings.pipeline_stage_label or str(saved_stage)
            stage.choices += [(str(saved_stage), f"{label} (no longer in your CRM)")]
        saved_won = crm_settings.won_value_column
        if saved_won and choices.money_column(saved_won) is None:
            label = crm_settings.won_value_label or saved_won
            won.choices += [(saved_won, f"{label} ({saved_won}, no longer in your CRM)")]

    def clean_pipeline_stage(self):
        value = self.cleaned_data["pipeline_stage"]
        if self.choices.loaded and value != NOT_SURE and self.choices.stage(int(value)) is None:
            label = self.crm_settings.pipeline_stage_label or value
            raise forms.ValidationError(
                f"{label} is no longer one of your CRM's sales stages (it was removed or changed "
                "in Dynamics). Choose another stage, or Not Sure."
            )
        return value

    def clean_won_value_column(self):
        value = self.cleaned_data["won_value_column"]
        if self.choices.loaded and value != NOT_SURE and self.choices.money_column(value) is None:
            raise forms.ValidationError(
                f"{value} is no longer one of your CRM's opportunity money fields (it was removed "
                "in Dynamics). Choose another field, or Not Sure."
            )
        return value

    def values(self) -> dict:
        """The cleaned answers in the shape ``sync_settings_update`` takes."""
        data = self.cleaned_data
        values = {
            "auto_sync": data["auto_sync"],
            "contact_profile_url_column": data["contact_profile_url_column"],
            "sync_interval_minutes": data["sync_interval_minutes"],
        }
        if not self.choices.loaded:
            return values  # the disabled questions keep their saved answers
        if data["pipeline_stage"] == NOT_SURE:
            values.update(pipeline_stage=None, pipeline_stage_label="")
        else:
            stage = self.choices.stage(int(data["pipeline_stage"]))
            values.update(pipeline_stage=stage.value, pipeline_stage_label=stage.label)
        if data["won_value_column"] == NOT_SURE:
            values.update(won_value_column="", won_value_label="")
        else:
            column = self.choices.money_column(data["won_value_column"])
            values.update(won_value_column=column.logical_name, won_value_label=column.label)
        return values

    def stage_options_json(self) -> list[dict]:
        return [{"value": o.value, "label": o.label} for o in self.choices.stage_options]


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
