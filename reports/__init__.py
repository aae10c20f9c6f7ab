"""Reports for contract admins, over what the apps below record (Admin > Reports).

- won revenue: won opportunities of the seat holders, per currency, by seat holder and by month,
  with how many had their account or contacts saved in the portal before the win;
- the match report: how many CRM contacts and accounts matched the network, by method, and every
  unmatched one;
- the audit trail: who changed which setting or seat, in words, before and after.

Modules: ``selectors`` (the reads, a fixed number of queries each), ``audit`` (action codes to
sentences), ``forms`` (the filters), ``views`` (the pages and their CSV exports), ``urls``.
Pages read the database only, never Dynamics; every list is scoped to the admin's contract.
"""
