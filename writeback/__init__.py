"""The activity writeback: the outbox that copies seat holders' InMails, messages and notes to
Dynamics as activities, their delivery, and the LinkedIn unresolved task report (README,
"Activity writeback").

Modules, in the order an item travels:

- ``models``: ``OutboxEntry`` (an item's delivery, with its derived activity id) and
  ``RecordMatch`` (a record chosen in the report); the items themselves are ``inbox.models``;
- ``outbox``: the state machine and the app's services module: every write (follow an item's
  checkbox, *Retry*, claim, record each outcome, close and resolve from the report);
- ``tasks``: the django-q2 drain of a contract's due entries, and the sweep that starts drains;
- ``delivery``: one claim to Dynamics in ``$batch`` requests, one recorded outcome per entry;
- ``owners``: each seat's CRM owner, and whether writes act on the seat holder's behalf;
- ``matching``: the CRM record each item regards (the report's choice, the import's, a lookup);
- ``activities`` and ``content``: the Dataverse requests and the activity's subject and text;
- ``report``, ``report_views``, ``selectors``, ``access``, ``forms``: the unresolved-task report
  (suggestions, search, resolve, *Create record in CRM*);
- ``views``: *Retry* on an item's page; ``api_views`` and ``api_urls``: *Retry* in the mobile
  API, served in its ``api`` namespace (``config.urls``) with ``inbox.api.http``'s sign-in and
  errors; ``admin``: the staff's outbox views and *Retry writeback*.

Layering: the writeback sits above ``inbox`` and imports it freely; the inbox imports none of
it. The inbox reaches up only as its module map lists: ``inbox.signals.items_written``,
connected here to ``outbox.outbox_follow`` in ``WritebackConfig.ready()`` so an item and its
entry commit together; and the ``delivery`` reverse relation, through which its pages include
the ``writeback/_delivery_state.html`` partial and its API answers with
``OutboxEntry.api_payload()`` and lists the entry's states.
"""
