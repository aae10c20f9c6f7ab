"""When a company or member was created or a load last changed it (``updated_at``): the import
checks the data validation flags of the CRM contacts whose network rows changed since its last
run. Existing rows start at the migration's time, so the next import checks their contacts
once."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0002_saves_seat_index_covered"),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, db_index=True, default=django.utils.timezone.now
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, db_index=True, default=django.utils.timezone.now
            ),
            preserve_default=False,
        ),
    ]
