"""The seat holder's inbox: InMail and message threads, notes on leads and accounts, their copy
checkboxes, and the mobile JSON API (README, "Activity writeback" and "Mobile API").

Modules, from the data up:

- ``models``: ``Thread``, ``Message``, ``Note``, ``CopyPreference`` (their tables keep the
  ``writeback_*`` names they had before the app was split, ``db_table``);
- ``services``: every write: send, reply, receive, notes, ticking *Copy ... to CRM*, the demo's
  backdating, the mobile app's tokens;
- ``signals``: ``items_written``, sent by the services inside their transaction;
- ``selectors`` and ``access``: the Inbox, a thread, notes, the copy checkboxes' defaults, tokens;
  the current seat's own items or 404;
- ``forms``, ``views``, ``urls``: the pages (Inbox, a thread, *New InMail* / *New message*, the
  notes panel, the copy checkboxes, *Mobile app tokens*), URL names ``inbox:...``;
- ``api``: the mobile app's ``/api/v1/`` (``http`` token sign-in and JSON errors, ``views``,
  ``payloads``, ``schema``, ``delivery``);
- ``demo``: a seat holder's demo conversations and notes; ``admin``: the staff's read-only views.

Layering: the inbox sits above ``sync`` and below ``writeback`` (DESIGN §3). Nothing in it imports
the writeback but ``api.delivery``; where the two meet, the dependency runs one way, by these
named exceptions:

1. Writes go up by a signal. Copying an item needs its outbox entry changed in the same
   transaction; the services send ``signals.items_written`` and ``writeback`` connects
   ``outbox_follow`` to it (``WritebackConfig.ready``).
2. Pages read the delivery by relation, not by import. Each message and note has the writeback's
   ``OutboxEntry`` as ``delivery`` (the reverse side of its one-to-one); ``selectors`` and
   ``access`` select it so a page shows every item's CRM copy in one query, and
   ``inbox/_copy_control.html`` includes ``writeback/_delivery_state.html`` to draw it. *Retry*
   and the unresolved-task report are the writeback's own views.
3. ``api.delivery`` is the one module that imports the writeback: the API is a single surface for
   the app, so its answers carry each item's delivery and it offers *Retry*, one service call up
   (the two imports are the ``layers`` contract's named exceptions in ``pyproject.toml``).
"""
