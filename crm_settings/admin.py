from django.contrib import admin

from crm_settings.models import CrmConnection, CrmSettings


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
