"""Staff's view of users, contracts and seats, with the bulk actions Seat Management offers.

Actions call the same services as the portal's pages, so the rules (audit, imported saves removed
on disable, invitations after commit) hold whichever door a change comes through.
"""

from itertools import groupby

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count, Q

from seats.models import ADMIN_ROLES, SEAT_ROLES, ApiToken, AuditEntry, Contract, Seat, User
from seats.services import seat_invitations_enqueue


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "purchased_seats", "seats_in_use", "created_at"]
    search_fields = ["name"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(in_use=Count("seats", filter=Q(seats__role__in=SEAT_ROLES)))
        )

    @admin.display(description="Seats in use", ordering="in_use")
    def seats_in_use(self, contract):
        return contract.in_use


class SeatAdminForm(forms.ModelForm):
    """Staff edits keep the same rules as the portal: a contract never loses its last admin."""

    class Meta:
        model = Seat
        fields = ["contract", "user", "role", "crm_sync"]

    def clean(self):
        data = super().clean()
        seat, role = self.instance, data.get("role")
        if seat.pk and seat.role in ADMIN_ROLES and role not in ADMIN_ROLES:
            others = Seat.objects.filter(contract_id=seat.contract_id, role__in=ADMIN_ROLES)
            if not others.exclude(pk=seat.pk).exists():
                raise forms.ValidationError(
                    "This is the contract's last admin. Make someone else an admin first."
                )
        return data


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    form = SeatAdminForm
    list_display = ["user", "contract", "role", "crm_sync", "created_at"]
    list_filter = ["role", "crm_sync", "contract"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "contract__name"]
    list_select_related = ["user", "contract"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["contract"]
    actions = ["send_invitation"]

    @admin.action(description="Send the invitation again (to those without a password)")
    def send_invitation(self, request, queryset):
        pending = [s for s in queryset.select_related("user") if not s.user.has_usable_password()]
        pending.sort(key=lambda seat: seat.contract_id)
        for _, seats in groupby(pending, key=lambda seat: seat.contract):
            seats = list(seats)
            seat_invitations_enqueue(
                contract=seats[0].contract,
                seats=seats,
                base_url=request.build_absolute_uri("/"),
                by=request.user,
            )
        level = messages.SUCCESS if pending else messages.INFO
        self.message_user(request, f"Invitations sent to {len(pending)} seat holders.", level)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "contract", "actor_label", "action", "target"]
    list_filter = ["action", "contract"]
    search_fields = ["actor_label", "action", "target"]
    list_select_related = ["contract"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__email", "prefix"]
    list_select_related = ["user"]
    # The digest is useless to staff and not shown.
    exclude = ["digest"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
