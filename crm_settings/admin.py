"""Staff's pages for CRM connections and settings.

Staff change a contract's CRM settings through the same services as the contract's admins on
CRM Settings (``crm_settings.services``): the same rules refuse the same values, every change is
written to the contract's audit trail with staff as the actor, and a change to what the import
reads starts it. The pipeline stage and the won-value field are chosen among the org's choices
stored on the connection, as on CRM Settings, and saved with their labels.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from crm_settings.models import (
    ApiUsage,
    AutoPause,
    CrmConnection,
    CrmSettings,
    SlotWaiter,
    WorkerSlot,
)
from crm_settings.pausing import pause_settings_update
from crm_settings.selectors import CrmChoices, crm_choices_get, crm_connection_get
from crm_settings.services import (
    SYNC_FIELDS,
    WRITEBACK_FIELDS,
    sync_settings_update,
    writeback_settings_update,
    writeback_values_check,
)

NOT_SURE = ""
NOT_SURE_LABEL = "Not Sure"


class CrmSettingsAdminForm(forms.ModelForm):
    """The settings staff may change; the labels and stage order follow from the choices."""

    pipeline_stage = forms.TypedChoiceField(
        label=CrmSettings._meta.get_field("pipeline_stage").verbose_name,
        coerce=int,
        empty_value=None,
        required=False,
    )
    won_value_column = forms.ChoiceField(
        label=CrmSettings._meta.get_field("won_value_column").verbose_name, required=False
    )

    class Meta:
        model = CrmSettings
        fields = [
            "auto_sync", "pipeline_stage", "won_value_column", "contact_profile_url_column",
            "sync_interval_minutes", "pause_after_failures", "writeback_enabled", "writeback_all",
            "writeback_inmails", "writeback_messages", "writeback_notes",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        connection = crm_connection_get(contract=self.instance.contract)
        self.connection = connection
        self.choices = crm_choices_get(connection=connection) if connection else None
        stages = [(o.value, o.label) for o in self.choices.stage_options] if self.choices else []
        columns = (
            [(c.logical_name, f"{c.label} ({c.logical_name})") for c in self.choices.money_columns]
            if self.choices
            else []
        )
        saved = self.instance
        # A saved answer the stored choices do not hold (not loaded yet, or gone from the CRM)
        # stays offered, so saving other fields keeps it.
        if saved.pipeline_stage is not None and saved.pipeline_stage not in dict(stages):
            stages.append((saved.pipeline_stage, saved.pipeline_stage_label or "saved stage"))
        if saved.won_value_column and saved.won_value_column not in dict(columns):
            columns.append((saved.won_value_column, saved.won_value_label or "saved field"))
        self.fields["pipeline_stage"].choices = [(NOT_SURE, NOT_SURE_LABEL), *stages]
        self.fields["won_value_column"].choices = [(NOT_SURE, NOT_SURE_LABEL), *columns]

    def clean(self):
        cleaned = super().clean()
        if set(WRITEBACK_FIELDS) & set(self.changed_data):
            try:
                writeback_values_check(
                    values=self.writeback_values(), solution_installed=self.solution_installed
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    @property
    def solution_installed(self) -> bool:
        return bool(self.choices and self.choices.solution_installed)

    def sync_values(self) -> dict:
        """The sync answers in the shape ``sync_settings_update`` takes, labels included."""
        data = self.cleaned_data
        values = {name: data[name] for name in SYNC_FIELDS if name in data}
        stage, column = data.get("pipeline_stage"), data.get("won_value_column")
        values["pipeline_stage_label"] = (
            "" if stage is None else dict(self.fields["pipeline_stage"].choices)[stage]
        )
        values["won_value_label"] = _column_label(self.choices, column, self.instance)
        return values

    def writeback_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in WRITEBACK_FIELDS}

    def stage_options(self) -> list[dict]:
        if self.choices is None or not self.choices.loaded:
            return self.instance.pipeline_stage_options
        return [{"value": o.value, "label": o.label} for o in self.choices.stage_options]


def _column_label(choices: CrmChoices | None, column: str, saved: CrmSettings) -> str:
    if not column:
        return ""
    found = choices.money_column(column) if choices else None
    if found is not None:
        return found.label
    return saved.won_value_label if column == saved.won_value_column else column


@admin.register(CrmSettings)
class CrmSettingsAdmin(admin.ModelAdmin):
    form = CrmSettingsAdminForm
    list_display = [
        "contract", "auto_sync", "pipeline_stage_label", "won_value_column", "writeback_enabled",
        "sync_interval_minutes", "updated_at",
    ]  # fmt: skip
    list_filter = ["auto_sync", "writeback_enabled", "writeback_all"]
    search_fields = ["contract__name"]
    list_select_related = ["contract"]
    readonly_fields = [
        "contract", "pipeline_stage_label", "won_value_label", "pipeline_stage_options",
        "updated_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # settings come with the contract (``crm_settings_get``)

    def save_model(self, request, obj, form, change):
        """Save through the services (validated, audited, re-importing), not ``obj.save()``."""
        contract = obj.contract
        sync_settings_update(
            contract=contract,
            values=form.sync_values(),
            stage_options=form.stage_options(),
            by=request.user,
        )
        if set(WRITEBACK_FIELDS) & set(form.changed_data):
            writeback_settings_update(
                contract=contract,
                values=form.writeback_values(),
                solution_installed=form.solution_installed,
                by=request.user,
            )
        if "pause_after_failures" in form.changed_data:
            pause_settings_update(
                contract=contract,
                pause_after_failures=form.cleaned_data["pause_after_failures"],
                by=request.user,
            )
        obj.refresh_from_db()


@admin.register(CrmConnection)
class CrmConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "contract", "status", "environment_url", "crm_user_name", "linkedin_solution_installed",
        "can_impersonate", "connected_at",
    ]  # fmt: skip
    list_filter = ["status", "linkedin_solution_installed", "can_impersonate"]
    search_fields = ["contract__name", "environment_url", "crm_user_name", "crm_user_email"]
    list_select_related = ["contract"]
    # The token cache is never shown, not even encrypted.
    exclude = ["token_cache_encrypted"]
    readonly_fields = [
        "contract", "environment_url", "tenant", "connected_by", "connected_at", "crm_user_id",
        "crm_user_name", "crm_user_email", "organization_id", "preflight",
        "linkedin_solution_installed", "stage_options", "money_columns", "choices_read_at",
        "can_impersonate", "last_error_kind", "last_error_detail", "last_error_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # connections are made by an admin signing in to Dynamics


@admin.register(AutoPause)
class AutoPauseAdmin(admin.ModelAdmin):
    """Read-only: pauses change through the services (*Resume sync* / *Resume writeback* on CRM
    Settings, audited), never by editing the row."""

    list_display = ["connection", "part", "failures", "paused_at", "last_error_kind"]
    list_filter = ["part", ("paused_at", admin.EmptyFieldListFilter), "last_error_kind"]
    search_fields = ["connection__contract__name"]
    list_select_related = ["connection__contract"]
    readonly_fields = [
        "connection", "part", "failures", "last_error_kind", "last_error_detail",
        "last_failure_at", "paused_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False


@admin.register(ApiUsage)
class ApiUsageAdmin(admin.ModelAdmin):
    """Read-only: the portal's own count of what it sent to Dynamics, hour by hour."""

    list_display = [
        "contract", "hour", "requests_sent", "lowest_requests_remaining", "requests_limit",
        "lowest_seconds_remaining", "waits",
    ]  # fmt: skip
    list_filter = ["contract"]
    search_fields = ["contract__name"]
    list_select_related = ["contract"]
    date_hierarchy = "hour"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerSlot)
class WorkerSlotAdmin(admin.ModelAdmin):
    """Read-only: which task holds each contract's worker slots now (``crm_settings.slots``)."""

    list_display = ["contract", "number", "task", "lease_until"]
    search_fields = ["contract__name", "task"]
    list_select_related = ["contract"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SlotWaiter)
class SlotWaiterAdmin(admin.ModelAdmin):
    """Read-only: tasks that stepped aside for their contract's busy worker slots."""

    list_display = ["contract", "func", "waiting_since"]
    search_fields = ["contract__name", "func"]
    list_select_related = ["contract"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
