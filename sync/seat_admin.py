"""Staff's view of Seat Management's CRM half: the *In CRM* badge as a column and a filter,
*Enable CRM Sync* / *Disable CRM Sync* on seats and *Refresh from CRM* on contracts.

``seats.admin`` registers users, contracts and seats as tenancy alone; this module, a layer up,
replaces the contract and seat pages with subclasses that add what needs the CRM mapping, so the
tenancy app imports nothing above it. The actions call the same services as the portal's pages.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from crm_settings.messages import CrmProblem
from network.imported import seats_imported_saves_count
from seats.admin import ContractAdmin, SeatAdmin
from seats.models import Contract, Seat
from sync import seat_services
from sync.seat_selectors import seats_with_crm_state


class InCrmFilter(admin.SimpleListFilter):
    """The *In CRM* badge as a filter (computed by the database, like Seat Management's)."""

    title = "In CRM"
    parameter_name = "in_crm"

    def lookups(self, request, model_admin):
        return [("yes", "In CRM"), ("no", "Not in CRM")]

    def queryset(self, request, queryset):
        value = {"yes": True, "no": False}.get(self.value())
        return queryset if value is None else queryset.filter(in_crm=value)


def _by_contract(queryset):
    """The selected seats grouped by contract: (contract, queryset of its selected seats)."""
    contracts = Contract.objects.filter(pk__in=queryset.values("contract")).order_by("pk")
    return [(contract, queryset.filter(contract=contract)) for contract in contracts]


class ContractCrmAdmin(ContractAdmin):
    actions = ["refresh_crm_users"]

    @admin.action(description="Refresh from CRM: read the CRM's users and match seats again")
    def refresh_crm_users(self, request, queryset):
        for contract in queryset:
            try:
                count = seat_services.crm_users_reload(contract=contract, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"{contract}: {' '.join(error.messages)}", messages.ERROR
                )
            except CrmProblem as problem:
                self.message_user(request, f"{contract}: {problem}", messages.ERROR)
            else:
                self.message_user(request, f"{contract}: read {count} users from the CRM.")


class SeatCrmAdmin(SeatAdmin):
    list_display = ["user", "contract", "role", "crm_sync", "in_crm", "created_at"]
    list_filter = ["role", "crm_sync", InCrmFilter, "contract"]
    actions = ["enable_crm_sync", "disable_crm_sync", "send_invitation"]

    def get_queryset(self, request):
        return seats_with_crm_state(super().get_queryset(request))

    @admin.display(description="In CRM", boolean=True, ordering="in_crm")
    def in_crm(self, seat):
        return seat.in_crm

    @admin.action(description="Enable CRM Sync")
    def enable_crm_sync(self, request, queryset):
        changed = sum(
            seat_services.seats_sync_enable(contract=contract, seats=seats, by=request.user).changed
            for contract, seats in _by_contract(queryset)
        )
        self.message_user(request, f"CRM sync enabled for {changed} seats.")

    @admin.action(description="Disable CRM Sync (removes their imported saves)")
    def disable_crm_sync(self, request, queryset):
        """Like the portal: a confirmation with what would be removed, then the change."""
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "admin/seats/seat/disable_crm_sync.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Disable CRM Sync",
                    "opts": self.model._meta,
                    "seats": queryset,
                    "counts": seats_imported_saves_count(seats=queryset),
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        removed = {"accounts": 0, "leads": 0}
        for contract, seats in _by_contract(queryset):
            change = seat_services.seats_sync_disable(
                contract=contract, seats=seats, by=request.user
            )
            for kind in removed:
                removed[kind] += change.removed[kind]
        self.message_user(
            request,
            f"CRM sync disabled for {len(queryset)} seats; removed {removed['accounts']} imported "
            f"accounts and {removed['leads']} imported leads.",
        )
        return None


for model, model_admin in [(Contract, ContractCrmAdmin), (Seat, SeatCrmAdmin)]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)
