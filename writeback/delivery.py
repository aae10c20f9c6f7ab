"""Delivering claimed outbox entries to Dynamics: the seam the delivery work fills in.

``deliver`` receives entries that ``outbox_claim_due`` took for this worker (``sending``: create
the activity; ``removing``: delete it) and must record one outcome per entry with
``outbox_mark_sent``, ``outbox_mark_removed`` or ``outbox_mark_error`` (``writeback/outbox.py``).
An entry left without an outcome is due again when its lease ends.
"""

from crm_settings.models import CrmConnection
from writeback.models import OutboxEntry


def deliver(*, connection: CrmConnection, entries: list[OutboxEntry]) -> None:
    """Create or delete the CRM activities of ``entries`` through ``connection``, in ``$batch``.

    What it has to do, per entry:

    - ``sending``: build the activity (``writeback.content`` gives subject and description) with
      ``activityid = entry.activity_id`` in ``li_inmails``, ``li_messages`` or ``tasks`` (notes),
      closed and regarding the matched contact, lead or account, else open with no regarding
      record; an "already exists" answer for that id counts as sent.
    - ``removing``: delete the activity ``entry.activity_id``; "does not exist" counts as removed.
    - One failing entry must not fail the others: record each outcome on its own.
    """
    raise NotImplementedError("Writeback delivery to Dynamics is not built yet.")
