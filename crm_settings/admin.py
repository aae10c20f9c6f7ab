from django.contrib import admin

from crm_settings.models import ApiUsage, AutoPause, CrmConnection, CrmSettings


@admin.register(CrmSettings)
class CrmSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "contract", "auto_sync", "pipeline_stage_label", "won_value_column", "writeback_enabled",
        "sync_interval_minutes", "updated_at",
    ]  # fmt: skip
    list_filter = ["auto_sync", "writeback_enabled", "writeback_all"]
    search_fields = ["contract__name"]
    list_select_related = ["contract"]
    readonly_fields = ["pipeline_stage_options", "updated_at"]


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
