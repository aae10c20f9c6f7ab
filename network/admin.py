from django.contrib import admin

from network.models import Company, Member, SavedAccount, SavedLead


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "created_at"]
    search_fields = ["name", "domain", "name_key"]
    list_filter = ["industry"]
    readonly_fields = ["name_key", "created_at"]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "headline", "company", "email", "profile_url"]
    search_fields = ["first_name", "last_name", "email", "profile_url", "company_name"]
    list_select_related = ["company"]
    raw_id_fields = ["company"]
    readonly_fields = ["profile_key", "name_key", "created_at"]


class _SavedAdmin(admin.ModelAdmin):
    list_filter = ["from_crm", "saved_by_hand", "seat__contract"]
    raw_id_fields = ["seat"]
    readonly_fields = ["saved_at", "imported_at"]


@admin.register(SavedAccount)
class SavedAccountAdmin(_SavedAdmin):
    list_display = ["company", "seat", "saved_by_hand", "from_crm", "saved_at"]
    search_fields = ["company__name", "seat__user__email"]
    list_select_related = ["company", "seat__user"]
    raw_id_fields = ["seat", "company"]


@admin.register(SavedLead)
class SavedLeadAdmin(_SavedAdmin):
    list_display = ["member", "seat", "saved_by_hand", "from_crm", "saved_at"]
    search_fields = ["member__first_name", "member__last_name", "seat__user__email"]
    list_select_related = ["member", "seat__user"]
    raw_id_fields = ["seat", "member"]
