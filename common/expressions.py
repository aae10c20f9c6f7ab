"""Database expressions the list pages share."""

from datetime import UTC, datetime

from django.db.models import DateTimeField, Expression, Value
from django.db.models.functions import Coalesce, Greatest, NullIf

_EPOCH = Value(datetime(1970, 1, 1, tzinfo=UTC), output_field=DateTimeField())


def latest_of(*moments: Expression) -> Expression:
    """The latest of several datetime expressions, any of which may be NULL; NULL when all are.

    Greatest() of a NULL is NULL on SQLite but not on PostgreSQL: a missing moment counts as the
    epoch, and an epoch result is NULL again.
    """
    return NullIf(Greatest(*(Coalesce(moment, _EPOCH) for moment in moments)), _EPOCH)
