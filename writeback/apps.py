from django.apps import AppConfig


class WritebackConfig(AppConfig):
    name = "writeback"
    verbose_name = "Activity writeback"

    def ready(self):
        # The inbox is below the writeback and imports none of it: it announces written items,
        # and the outbox follows them here, in the transaction that wrote them (see the module
        # maps of both apps).
        from inbox.signals import items_written

        items_written.connect(_follow_written_items, dispatch_uid="writeback.outbox_follow")


def _follow_written_items(sender, *, items, contract_id, **kwargs):
    """``inbox.signals.items_written``: bring the items' outbox entries in line with them."""
    from writeback.outbox import outbox_follow

    outbox_follow(items=items, contract_id=contract_id)
