"""Deleting old rows in bounded batches, and the audit trail's retention.

``delete_in_batches`` is the one way the portal deletes rows by age: each app's retention calls
it with the queryset of what it may delete (``sync.runs.sync_runs_prune``, the task results in
``portal.retention``); it lives here, on the floor every app may import. No statement deletes
more than a batch, so a first prune of years of rows never holds long locks or one huge
transaction.
"""

from datetime import datetime

from django.db.models import QuerySet

from seats.models import AuditEntry

BATCH_SIZE = 1000


def delete_in_batches(queryset: QuerySet, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete what ``queryset`` selects, ``batch_size`` rows per DELETE; returns how many.

    Each batch is the same few queries: one SELECT of the next ids, then Django's delete of
    those ids (one DELETE, or a fixed few for a model whose rows others point to). Each batch
    commits on its own, so a stopped prune keeps what it did and the next one goes on.
    """
    model = queryset.model
    deleted = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        _, by_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += by_model.get(model._meta.label, 0)
    return deleted


def audit_entries_prune(*, before: datetime, batch_size: int = BATCH_SIZE) -> int:
    """Delete audit entries written before ``before``; returns how many."""
    return delete_in_batches(
        AuditEntry.objects.filter(created_at__lt=before), batch_size=batch_size
    )
