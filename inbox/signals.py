"""What the inbox tells the apps above it: the one way its writes reach the writeback.

``items_written`` is sent by ``inbox.services`` inside the transaction that saved the items, with
``items`` (the messages or notes whose copy checkbox was just set, ticked or unticked) and
``contract_id``. ``writeback`` connects ``outbox_follow`` to it in its ``AppConfig.ready()``, so
an item and its outbox entry still commit together (or not at all: ``send``, not
``send_robust``, lets a receiver's error roll the transaction back), while the inbox imports
nothing of the writeback.
"""

from django.dispatch import Signal

items_written = Signal()
