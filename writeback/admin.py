"""Staff views of the outbox and the record matches.

Entries are read-only here: they change only through ``writeback.outbox``. Staff can *Retry
writeback* on failed outbox entries, and delete a record match chosen by mistake (the member's
next items are then matched afresh).
"""

from django.contrib import admin, messages
from django.db import models

from inbox.admin import ReadOnlyAdmin
from writeback.models import FollowUp, OutboxDrain, OutboxEntry, OutboxState, RecordMatch
from writeback.outbox import outbox_retry


@admin.register(OutboxEntry)
class OutboxEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "activity_id", "item_type", "state", "attempts", "next_attempt", "last_error_kind",
        "written_open", "seat", "sent_at",
    ]  # fmt: skip
    # ``next_attempt_at`` is also a worker's lease, and stays set on sent items: staff see when
    # the item is next tried, which only waiting items have.
    exclude = ["next_attempt_at"]
    readonly_fields = ["next_attempt"]
    list_filter = ["state", "item_type", "last_error_kind", "written_open", "contract"]
    search_fields = ["activity_id", "seat__user__email", "crm_url", "last_error_detail"]
    list_select_related = ["seat__user", "seat__contract"]
    date_hierarchy = "created_at"
    actions = ["retry_writeback"]
    # CRM links are https; saying so also answers Django 5's warning about the default scheme.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="Next attempt", ordering="next_attempt_at")
    def next_attempt(self, entry):
        return entry.next_attempt or "—"

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
class OutboxDrainAdmin(ReadOnlyAdmin):
    """Which contracts have a drain task waiting for a worker (and since when)."""

    list_display = ["contract", "requested_at"]
    list_select_related = ["contract"]
    search_fields = ["contract__name"]


@admin.register(RecordMatch)
class RecordMatchAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "record_type", "record_id", "chosen_by", "updated_at", "contract"]
    list_filter = ["record_type", "contract"]
    search_fields = [
        "record_name", "record_id", "member__first_name", "member__last_name", "company__name",
    ]  # fmt: skip
    list_select_related = ["member", "company", "chosen_by__user", "contract"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """Follow-up tasks asked for on *Data validation*; delivered through the outbox like any
    item, so read-only here."""

    list_display = ["subject", "contact_name", "seat", "contract", "asked_by", "created_at"]
    list_filter = ["contract"]
    list_select_related = ["seat__user", "contract", "asked_by"]
    search_fields = ["subject", "contact_name", "contact_crm_id"]
