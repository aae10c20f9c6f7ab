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
  ``payloads``, ``schema``); its *Retry* endpoints are the writeback's (``writeback.api_views``);
- ``demo``: a seat holder's demo conversations and notes; ``admin``: the staff's read-only views.

Layering: the inbox sits above ``sync`` and below ``writeback`` (DESIGN §3), and imports nothing
of the writeback. Where the two meet, the writeback reaches down, or the inbox reaches its row by
relation:

1. Writes go up by a signal. Copying an item needs its outbox entry changed in the same
   transaction; the services send ``signals.items_written`` and ``writeback`` connects
   ``outbox_follow`` to it (``WritebackConfig.ready``).
2. Pages and the API read the delivery by relation, not by import. Each message and note has the
   writeback's ``OutboxEntry`` as ``delivery`` (the reverse side of its one-to-one); ``selectors``
   and ``access`` select it so a page or an answer shows every item's CRM copy in one query.
   ``inbox/_copy_control.html`` includes ``writeback/_delivery_state.html`` to draw it, and
   ``api.payloads`` answers with the entry's own ``api_payload()``: what one entry looks like to
   the app is the writeback's rule about its row. ``api.schema`` reads the delivery states from
   the same relation (``Message._meta``, the related model's ``state`` choices).
3. *Retry* is the writeback's, on the pages (``writeback.views``) and in the API
   (``writeback.api_views``, built on ``api.http``'s ``endpoint`` and ``api.payloads``).
   ``config.urls`` serves the writeback's API routes and ours in one namespace, ``api``;
   ``api.schema`` still describes the whole API, *Retry* included, as a document (text, not an
   import), and ``tests/writeback/test_api_schema.py`` holds it to every route served.
"""
