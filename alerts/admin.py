from django.contrib import admin

from alerts.models import AlertPreferences, Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only: incidents open and clear by the minute's check (``alerts.services``)."""

    list_display = ["contract", "kind", "title", "opened_at", "cleared_at", "resolution"]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter), "resolution"]
    search_fields = ["contract__name", "title", "detail"]
    list_select_related = ["contract"]
    date_hierarchy = "opened_at"
    readonly_fields = [
        "contract", "kind", "title", "message", "next_step", "detail", "fix_path", "fix_label",
        "opened_at", "cleared_at", "resolution", "opened_mailed_at", "cleared_mailed_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False


@admin.register(AlertPreferences)
class AlertPreferencesAdmin(admin.ModelAdmin):
    list_display = ["seat", "daily_digest", "muted_kinds", "digest_sent_at", "updated_at"]
    list_filter = ["daily_digest"]
    search_fields = ["seat__user__email", "seat__contract__name"]
    list_select_related = ["seat__user", "seat__contract"]
    readonly_fields = ["digest_sent_at", "updated_at"]
