"""Staff views of conversations, notes and the seat holders' copy preferences.

Items are read-only here: their copy checkboxes change only through the services, which keep the
outbox in step.
"""

from django.contrib import admin

from inbox.models import CopyPreference, Message, Note, Thread


class ReadOnlyAdmin(admin.ModelAdmin):
    """A changelist and detail pages that staff can read, search and delete from, not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "seat", "subject", "copy_to_crm", "last_message_at", "read_at"]
    list_filter = ["kind", "copy_to_crm", "seat__contract"]
    search_fields = ["subject", "member__first_name", "member__last_name", "seat__user__email"]
    list_select_related = ["member", "seat__user", "seat__contract"]
    date_hierarchy = "last_message_at"


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["thread", "direction", "sent_at", "copy_to_crm"]
    list_filter = ["direction", "copy_to_crm", "thread__kind"]
    search_fields = [
        "body", "thread__member__first_name", "thread__member__last_name",
        "thread__seat__user__email",
    ]  # fmt: skip
    list_select_related = ["thread__member"]
    date_hierarchy = "sent_at"


@admin.register(Note)
class NoteAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "seat", "copy_to_crm", "created_at"]
    list_filter = ["copy_to_crm", "seat__contract"]
    search_fields = [
        "body", "member__first_name", "member__last_name", "company__name", "seat__user__email",
    ]  # fmt: skip
    list_select_related = ["member", "company", "seat__user", "seat__contract"]
    date_hierarchy = "created_at"


@admin.register(CopyPreference)
class CopyPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["seat", "item_type", "copy_to_crm", "updated_at"]
    list_filter = ["item_type", "copy_to_crm"]
    search_fields = ["seat__user__email"]
    list_select_related = ["seat__user", "seat__contract"]
