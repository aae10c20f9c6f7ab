"""The threads, messages, notes and copy preferences, moved here from ``writeback`` as they are.

State only: their tables were created by ``writeback``'s 0001 and keep their names (``db_table``),
so on an existing database nothing is touched and every row stays. ``writeback``'s 0003 then takes
the models out of its own state and points the outbox's one-to-ones here. This is the one
migration of the inbox that depends on ``writeback``: the tables must exist before it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('network', '0001_initial'),
        ('seats', '0001_initial'),
        ('writeback', '0002_record_match'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Thread',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('inmail', 'InMail'), ('message', 'Message')], max_length=10)),
                        ('subject', models.CharField(blank=True, help_text='InMails only.', max_length=200)),
                        ('copy_to_crm', models.BooleanField(default=False, help_text='Copies every message in the thread, and new ones as they come.', verbose_name='Copy thread to CRM')),
                        ('last_message_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('read_at', models.DateTimeField(blank=True, help_text='When the seat holder last opened the thread.', null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='network.member')),
                        ('seat', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='threads', to='seats.seat')),
                    ],
                    options={
                        'db_table': 'writeback_thread',
                        'ordering': ['-last_message_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='Message',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('direction', models.CharField(choices=[('sent', 'Sent'), ('received', 'Received')], max_length=10)),
                        ('body', models.TextField(max_length=8000)),
                        ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('copy_to_crm', models.BooleanField(default=False, verbose_name='Copy message to CRM')),
                        ('thread', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='inbox.thread')),
                    ],
                    options={
                        'db_table': 'writeback_message',
                        'ordering': ['sent_at', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='CopyPreference',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('item_type', models.CharField(choices=[('inmail', 'InMails'), ('message', 'Messages'), ('note', 'Notes')], max_length=10)),
                        ('copy_to_crm', models.BooleanField()),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('seat', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='seats.seat')),
                    ],
                    options={
                        'db_table': 'writeback_copypreference',
                        'constraints': [models.UniqueConstraint(fields=('seat', 'item_type'), name='copy_preference_per_type')],
                    },
                ),
                migrations.CreateModel(
                    name='Note',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('body', models.TextField(max_length=5000)),
                        ('copy_to_crm', models.BooleanField(default=False, verbose_name='Copy to CRM')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('company', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='network.company')),
                        ('member', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='network.member')),
                        ('seat', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='seats.seat')),
                    ],
                    options={
                        'db_table': 'writeback_note',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['seat', 'member'], name='note_on_lead'), models.Index(fields=['seat', 'company'], name='note_on_account')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('company__isnull', True), ('member__isnull', False)), models.Q(('company__isnull', False), ('member__isnull', True)), _connector='OR'), name='note_on_a_lead_or_an_account')],
                    },
                ),
                migrations.AddIndex(
                    model_name='thread',
                    index=models.Index(fields=['seat', '-last_message_at'], name='thread_inbox_order'),
                ),
                migrations.AddConstraint(
                    model_name='thread',
                    constraint=models.UniqueConstraint(condition=models.Q(('kind', 'message')), fields=('seat', 'member'), name='thread_one_conversation_per_member'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['thread', 'sent_at'], name='message_thread_order'),
                ),
            ],
        ),
    ]
