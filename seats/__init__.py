"""Tenancy, the ground floor every other app builds on: users, contracts, seats and roles, who
may open what, invitations and the audit trail. It imports no other app of the portal (checked
by import-linter's layers contract in pyproject.toml).

Modules:

- ``models``: User (signs in by email), Contract, Seat with its Role and its own CRM-sync choice,
  AuditEntry, ApiToken;
- ``services``: creating contracts and seats (only ever with a new account: the rule that no
  contract takes over an account it does not own), roles, a seat holder's name and email, the
  audit record, invitations enqueued after commit;
- ``access`` and ``middleware``: ``request.contract`` and ``request.seat``, the role decorators,
  404 for another contract's object and 403 for a too-low role;
- ``invitations`` and ``tasks``: the set-your-password email and the task that sends it;
- ``adapters``: allauth is invitation-only; ``views``: the read-only *Email address* page that
  replaces allauth's self-service one (README, "Security model");
- ``admin``: staff's pages for users, contracts and seats as tenancy (``sync.seat_admin`` adds
  the CRM columns and actions);
- ``retention``: deleting old rows in bounded batches (every app's retention uses it), and the
  audit trail's.

Seat Management's screens live in ``sync`` (``seat_views`` and friends), beside the
seat-to-CRM-user mapping they mostly show.
"""
