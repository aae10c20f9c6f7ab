"""Staff views of conversations, notes and the outbox.

Items are read-only here: their copy checkboxes change only through the services, which keep the
outbox in step. Staff can *Retry writeback* on failed outbox entries, and delete a record match
chosen by mistake (the member's next items are then matched afresh).
"""

from django.contrib import admin, messages
from django.db import models

from writeback.models import (
    CopyPreference,
    Message,
    Note,
    OutboxDrain,
    OutboxEntry,
    OutboxState,
    RecordMatch,
    Thread,
)
from writeback.outbox import outbox_retry


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Thread)
class ThreadAdmin(_ReadOnlyAdmin):
    list_display = ["__str__", "seat", "subject", "copy_to_crm", "last_message_at", "read_at"]
    list_filter = ["kind", "copy_to_crm", "seat__contract"]
    search_fields = ["subject", "member__first_name", "member__last_name", "seat__user__email"]
    list_select_related = ["member", "seat__user", "seat__contract"]
    date_hierarchy = "last_message_at"


@admin.register(Message)
class MessageAdmin(_ReadOnlyAdmin):
    list_display = ["thread", "direction", "sent_at", "copy_to_crm"]
    list_filter = ["direction", "copy_to_crm", "thread__kind"]
    search_fields = [
        "body", "thread__member__first_name", "thread__member__last_name",
        "thread__seat__user__email",
    ]  # fmt: skip
    list_select_related = ["thread__member"]
    date_hierarchy = "sent_at"


@admin.register(Note)
class NoteAdmin(_ReadOnlyAdmin):
    list_display = ["__str__", "seat", "copy_to_crm", "created_at"]
    list_filter = ["copy_to_crm", "seat__contract"]
    search_fields = [
        "body", "member__first_name", "member__last_name", "company__name", "seat__user__email",
    ]  # fmt: skip
    list_select_related = ["member", "company", "seat__user", "seat__contract"]
    date_hierarchy = "created_at"


@admin.register(CopyPreference)
class CopyPreferenceAdmin(_ReadOnlyAdmin):
    list_display = ["seat", "item_type", "copy_to_crm", "updated_at"]
    list_filter = ["item_type", "copy_to_crm"]
    search_fields = ["seat__user__email"]
    list_select_related = ["seat__user", "seat__contract"]


@admin.register(OutboxEntry)
class OutboxEntryAdmin(_ReadOnlyAdmin):
    list_display = [
        "activity_id", "item_type", "state", "attempts", "next_attempt_at", "last_error_kind",
        "written_open", "seat", "sent_at",
    ]  # fmt: skip
    list_filter = ["state", "item_type", "last_error_kind", "written_open", "contract"]
    search_fields = ["activity_id", "seat__user__email", "crm_url", "last_error_detail"]
    list_select_related = ["seat__user", "seat__contract"]
    date_hierarchy = "created_at"
    actions = ["retry_writeback"]
    # CRM links are https; saying so also answers Django 5's warning about the default scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_retry_permission(self, request):
        return request.user.has_perm("writeback.change_outboxentry")

    @admin.action(description="Retry writeback of the selected failed items", permissions=["retry"])
    def retry_writeback(self, request, queryset):
        failed = list(queryset.filter(state=OutboxState.FAILED))
        for entry in failed:
            outbox_retry(entry=entry)
        skipped = queryset.count() - len(failed)
        self.message_user(
            request,
            f"{len(failed)} failed item(s) will be tried again."
            + (f" {skipped} skipped: only failed items can be retried." if skipped else ""),
            messages.SUCCESS if failed else messages.WARNING,
        )


@admin.register(OutboxDrain)
class OutboxDrainAdmin(_ReadOnlyAdmin):
    """Which contracts have a drain task waiting for a worker (and since when)."""

    list_display = ["contract", "requested_at"]
    list_select_related = ["contract"]
    search_fields = ["contract__name"]


@admin.register(RecordMatch)
class RecordMatchAdmin(_ReadOnlyAdmin):
    list_display = ["__str__", "record_type", "record_id", "chosen_by", "updated_at", "contract"]
    list_filter = ["record_type", "contract"]
    search_fields = [
        "record_name", "record_id", "member__first_name", "member__last_name", "company__name",
    ]  # fmt: skip
    list_select_related = ["member", "company", "chosen_by__user", "contract"]
