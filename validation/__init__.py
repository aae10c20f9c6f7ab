"""Data validation: the CRM contacts whose data looks stale against the prospecting network
(README, "Data validation"), for admins (every contact of the contract) and seat holders (the
contacts they hold as Leads).

The flags are the import's: ``sync.flags`` works them out at the end of each run, only for what
changed, and owns *Dismiss*. This app only shows them and acts on them:

- ``selectors``: the page's list, scoped to the seat, searched, filtered and sorted in the
  database, with each row's owners and follow-up task;
- ``forms``: the list's search, filters and sort (``common.lists``), and the follow-up's owner;
- ``views`` and ``urls``: the page, *Export CSV* (``exports``), *Dismiss*, *Show again*, and
  *Create a follow-up task in CRM*, which ``writeback.followups`` writes through the outbox once.

Layering: above ``writeback`` (it asks for follow-up tasks) and ``sync`` (it reads the flags),
beside ``alerts`` and ``reports``; nothing below imports it.
"""
