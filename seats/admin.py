from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from seats.models import ApiToken, AuditEntry, Contract, Seat, User


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


class SeatInline(admin.TabularInline):
    model = Seat
    extra = 0
    fields = ["user", "role", "crm_sync", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]
    show_change_link = True


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "purchased_seats", "created_at"]
    search_fields = ["name"]
    date_hierarchy = "created_at"


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["user", "contract", "role", "crm_sync", "created_at"]
    list_filter = ["role", "crm_sync", "contract"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "contract__name"]
    list_select_related = ["user", "contract"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["contract"]


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
