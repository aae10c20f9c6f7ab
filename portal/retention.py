"""Retention: what the portal keeps of its history, and for how long.

The hourly schedule (``portal.tasks.prune_old_records``) deletes, in batches of 1,000 rows per
statement (``seats.retention.delete_in_batches``):

- sync runs finished more than ``RETENTION_RUNS_DAYS`` ago (90), with their per-record problems,
  except each contract's runs CRM Settings shows (``sync.runs.sync_runs_prune``), and the hours
  of API usage as old (``crm_settings.budget.api_usage_prune``: the CRM Sync overview charts
  both over the same days);
- audit entries older than ``RETENTION_AUDIT_DAYS`` (365);
- django-q2's task results (successes and failures) older than ``RETENTION_TASKS_DAYS`` (7).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_q.models import Task

from crm_settings.budget import api_usage_prune
from seats.retention import BATCH_SIZE, audit_entries_prune, delete_in_batches
from sync.runs import sync_runs_prune


def task_results_prune(*, before: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete django-q2's records of tasks that stopped before ``before``; returns how many."""
    return delete_in_batches(Task.objects.filter(stopped__lt=before), batch_size=batch_size)


def retention_prune(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Prune everything past its retention period; returns how many rows of each went."""
    now = now or timezone.now()

    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    return {
        "sync runs": sync_runs_prune(
            before=days_ago(settings.RETENTION_RUNS_DAYS), batch_size=batch_size
        ),
        "API usage hours": api_usage_prune(
            before=days_ago(settings.RETENTION_RUNS_DAYS), batch_size=batch_size
        ),
        "audit entries": audit_entries_prune(
            before=days_ago(settings.RETENTION_AUDIT_DAYS), batch_size=batch_size
        ),
        "task results": task_results_prune(
            before=days_ago(settings.RETENTION_TASKS_DAYS), batch_size=batch_size
        ),
    }
