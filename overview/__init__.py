"""Admin > CRM Sync: the admin's landing page for the integration, from every app below it.

- ``selectors``: the page's status, numbers and charts, each read through the owning app's
  selectors (crm_settings, network, sync, writeback) in a fixed number of queries;
- ``charts``: the 30-day charts as geometry for server-rendered SVG (no script; see its
  docstring for why), each with its figures as a table;
- ``views`` and ``urls``: the page, for the contract's admins (Admin and Admin only).

It sits above writeback and below portal in the checked layers (pyproject.toml). CRM Settings
keeps the connection and the forms; the overview links to them.
"""
