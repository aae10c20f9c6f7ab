"""Staff's pages for the import: mirrored CRM rows, runs and their problems (read-only), and
Seat Management's CRM half (``sync.seat_admin``)."""

from django.contrib import admin

from seats.models import Contract
from sync import seat_admin  # noqa: F401  (registers the CRM-aware contract and seat pages)
from sync.models import (
    ContactFlag,
    CrmAccount,
    CrmContact,
    CrmCurrency,
    CrmOpportunity,
    CrmUser,
    SavesDecided,
    SavesPending,
    SeatCrmUser,
    SyncCursor,
    SyncProblem,
    SyncRun,
)
from sync.services import sync_request


class _MirrorAdmin(admin.ModelAdmin):
    """A mirrored CRM table: staff read and search it, nobody adds, edits or deletes rows here.

    The import alone writes the mirror, as a copy of what Dynamics holds; a row changed here
    would be overwritten, or (deleted) come back only on the next full read.
    """

    list_filter = ["contract"]
    list_select_related = ["contract"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CrmUser)
class CrmUserAdmin(_MirrorAdmin):
    list_display = [
        "full_name", "email", "contract", "is_disabled", "is_application_user", "access_mode",
    ]  # fmt: skip
    list_filter = ["contract", "is_disabled", "is_application_user", "access_mode"]
    search_fields = ["full_name", "email", "domain_name", "crm_id"]


@admin.register(CrmCurrency)
class CrmCurrencyAdmin(_MirrorAdmin):
    list_display = ["iso_code", "name", "symbol", "contract"]
    search_fields = ["iso_code", "name", "crm_id"]


@admin.register(CrmAccount)
class CrmAccountAdmin(_MirrorAdmin):
    list_display = ["name", "website", "contract", "company", "match_method"]
    list_filter = ["contract", "match_method"]
    search_fields = ["name", "website", "crm_id"]


@admin.register(CrmContact)
class CrmContactAdmin(_MirrorAdmin):
    list_display = ["full_name", "email", "contract", "member", "match_method"]
    list_filter = ["contract", "match_method"]
    search_fields = ["full_name", "email", "crm_id"]


@admin.register(CrmOpportunity)
class CrmOpportunityAdmin(_MirrorAdmin):
    list_display = [
        "name", "contract", "state", "sales_stage", "estimated_value", "won_value",
        "actual_close_date",
    ]  # fmt: skip
    list_filter = ["contract", "state", "sales_stage"]
    search_fields = ["name", "crm_id", "owner_id"]


@admin.register(SeatCrmUser)
class SeatCrmUserAdmin(admin.ModelAdmin):
    list_display = ["seat", "crm_user", "reason", "matched_at"]
    list_filter = ["seat__contract"]
    search_fields = ["seat__user__email", "crm_user__email", "reason"]
    list_select_related = ["seat__user", "crm_user"]
    raw_id_fields = ["seat", "crm_user"]


class SyncProblemInline(admin.TabularInline):
    model = SyncProblem
    extra = 0
    can_delete = False
    readonly_fields = ["table", "crm_id", "reason", "created_at"]


@admin.action(description="Sync now (the contracts of the selected runs)")
def sync_now(modeladmin, request, queryset):
    contracts = Contract.objects.filter(pk__in=queryset.values("contract"))
    for contract in contracts:
        sync_request(contract=contract, trigger=SyncRun.Trigger.MANUAL)
    modeladmin.message_user(request, f"Sync requested for {len(contracts)} contract(s).")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    actions = [sync_now]
    list_display = [
        "id", "contract", "trigger", "state", "full", "started_at", "finished_at", "requests",
    ]  # fmt: skip
    list_filter = ["state", "trigger", "full", "contract"]
    search_fields = ["contract__name", "error_detail"]
    list_select_related = ["contract"]
    date_hierarchy = "created_at"
    inlines = [SyncProblemInline]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(SyncProblem)
class SyncProblemAdmin(admin.ModelAdmin):
    list_display = ["run", "table", "crm_id", "reason", "created_at"]
    list_filter = ["table"]
    search_fields = ["crm_id", "reason"]
    raw_id_fields = ["run"]


@admin.register(SyncCursor)
class SyncCursorAdmin(admin.ModelAdmin):
    list_display = ["contract", "table", "mode", "watermark", "last_full_read_at"]
    readonly_fields = ["next_link", "delta_link", "columns"]
    list_filter = ["mode", "table"]
    search_fields = ["contract__name", "table"]


@admin.register(ContactFlag)
class ContactFlagAdmin(_MirrorAdmin):
    """The import's data validation flags (``sync.flags``): read-only, like the mirror they
    describe; admins dismiss them on the *Data validation* page."""

    list_display = ["contact", "reason", "detail", "contract", "updated_at", "dismissed_at"]
    list_filter = ["contract", "reason"]
    list_select_related = ["contract", "contact"]
    search_fields = ["contact__full_name", "contact__email", "detail"]


@admin.register(SavesDecided, SavesPending)
class SavesDecisionAdmin(_MirrorAdmin):
    """The incremental saves decision's bookkeeping (``sync.evaluate``, ``sync.pending``): what
    the last decision saw and what waits for the next. Read-only; a full import resets it."""

    list_filter = ["kind"]
    list_select_related = []

