"""The threads, messages, notes and copy preferences now belong to the ``inbox`` app.

State only, like ``inbox``'s 0001 that this follows: the tables keep their names and rows, the
outbox's one-to-ones keep their columns and constraints and now point at ``inbox.Message`` and
``inbox.Note``. The content types (and so staff permissions and admin history) move with the
models.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["thread", "message", "note", "copypreference"]


def _relabel(apps, *, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=new, model__in=MOVED).values_list("model", flat=True))
    ContentType.objects.filter(app_label=old, model__in=set(MOVED) - taken).update(app_label=new)


def content_types_to_inbox(apps, schema_editor):
    _relabel(apps, old="writeback", new="inbox")


def content_types_to_writeback(apps, schema_editor):
    _relabel(apps, old="inbox", new="writeback")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('inbox', '0001_initial'),
        ('writeback', '0002_record_match'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name='outboxentry',
                    name='message',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='delivery', to='inbox.message'),
                ),
                migrations.AlterField(
                    model_name='outboxentry',
                    name='note',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='delivery', to='inbox.note'),
                ),
                migrations.DeleteModel(name='Message'),
                migrations.DeleteModel(name='Note'),
                migrations.DeleteModel(name='CopyPreference'),
                migrations.DeleteModel(name='Thread'),
            ],
        ),
        migrations.RunPython(content_types_to_inbox, content_types_to_writeback),
    ]
