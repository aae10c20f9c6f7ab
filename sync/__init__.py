"""The import: Dynamics 365 opportunities past the pipeline stage become seat holders' saved
Accounts and Leads, incrementally, resumably and in bulk (README, "How the import works").

Modules, in the order a run uses them:

- ``tasks``: the django-q2 entry points (a run for a contract; the schedule's tick);
- ``runs``: one active run per contract, merging, claiming, checkpoints, takeover after a crash,
  and pruning old runs;
- ``services``: the steps of a run, and asking for one (*Sync now*);
- ``reading``: one table's full, delta, watermark or resumed read, page by page;
- ``mirror`` and ``staging``: rows to mirror tuples, and one bulk write per page;
- ``matching``: CRM contacts and accounts to network members and companies, in SQL;
- ``users``: CRM users and the seat-to-user mapping by email;
- ``seat_services``, ``seat_selectors``, ``seat_views``, ``seat_forms``, ``seat_urls`` and
  ``seat_admin``: Seat Management's CRM half (the *In CRM* badge, *Enable / Disable CRM Sync*,
  *Assign seats from CRM*, *Refresh from CRM*), served at /seats/ under the ``seats:`` names;
- ``evaluate``: the saves the rules call for, applied set-wise in SQL;
- ``explain`` and ``selectors``: *Why not imported?*, status, history and the records pages;
- ``purge``: *Disconnect CRM Sync* with clean-up.
"""
