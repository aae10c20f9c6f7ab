"""Emails are managed by the contract admin (README, "Security model"): each person keeps only
the allauth address that is their account's email. Addresses they added themselves, while the
*Email Addresses* page was still self-service, are removed so none can sign in, receive a reset
link or block an address the admin wants to use.
"""

from django.db import migrations
from django.db.models import F


def remove_self_added_addresses(apps, schema_editor):
    EmailAddress = apps.get_model("account", "EmailAddress")
    EmailAddress.objects.exclude(email__iexact=F("user__email")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("seats", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.RunPython(remove_self_added_addresses, migrations.RunPython.noop),
    ]
