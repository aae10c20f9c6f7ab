from django.apps import AppConfig


class CrmSettingsConfig(AppConfig):
    name = "crm_settings"
    verbose_name = "CRM settings"
