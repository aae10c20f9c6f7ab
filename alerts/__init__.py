"""Alerts: admins hear when sync or writeback breaks, once per incident, and when it is back to
normal (DESIGN §3: the top of the layering, under the portal shell alone).

It sits above what it watches and nothing below calls it: the import, writeback and the
connection record what happens (failed runs, Failed items, the sign-in's last error, the
LinkedIn solution's presence, auto-pauses in ``crm_settings.pausing``), and a check every minute
reads them. So no lower app changes to be watched, and a check that runs twice, or late, tells
the same story.

Modules:

- ``models``: ``Incident`` (one stretch of one thing wrong on one contract, by ``Kind``) and
  ``AlertPreferences`` (one admin's muted kinds and daily-digest choice);
- ``conditions``: what is wrong now on every connected contract, with the guide's message, next
  step and the page that fixes it (a fixed number of queries);
- ``services``: the minute's check (open, refresh and clear incidents; mails enqueued on commit),
  and saving an admin's choices;
- ``mail``: the emails (opened, back to normal, the daily digest), each claimed before it is sent;
- ``tasks``: the django-q2 entry points (the check, one incident's mail, the digest);
- ``selectors``, ``forms``, ``views``, ``urls``: *Alert emails*, linked from CRM Settings;
- ``checks``: ``check --deploy`` warns when ``PORTAL_BASE_URL`` is not set.

Auto-pause itself lives lower, in ``crm_settings.pausing``, because the import and writeback
must consult it before they work; this app only tells admins about it.
"""
