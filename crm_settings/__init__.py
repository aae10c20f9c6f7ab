"""The contract's connection to Dynamics and its CRM Settings answers (DESIGN §3: above seats,
below network, sync and writeback).

Modules:

- ``models``: CrmConnection (environment, the signed-in CRM user, the token cache encrypted at
  rest, the last error, the org's stored choices) and CrmSettings (stage gate, won-value field,
  auto sync, writeback);
- ``connect``: *Connect to CRM* around the Microsoft sign-in, the pre-flight check, recording
  and clearing errors, *Refresh from CRM* (``crm_choices_refresh``: the org's stages, money
  fields and LinkedIn app, stored so the page never asks Dynamics), *Disconnect CRM Sync*;
- ``tasks``: the daily refresh of every connection's stored choices;
- ``crm``: the one place that builds ``dynamics`` clients from settings and a connection;
- ``crypto``: encrypting the stored sign-in with a list of keys, newest first;
- ``messages``: the guide's error messages and next steps, and CrmProblem, the portal-level error
  services raise when the CRM fails (views catch it and show it with ``crm_problem_show``);
- ``services`` and ``selectors``: saving the answers (audited), reading them and the stored
  choices (``crm_choices_get``) for the pages and the apps above;
- ``pausing``: auto-pause, the sync or writeback stopping itself after N failures in a row (the
  state machine with its reads and writes; the import and writeback record their outcomes here
  and ask it before they work);
- ``views``, ``pause_views``, ``forms``, ``urls``: Admin > Admin Settings > CRM Settings, with its
  *Alerts and auto-pause* panel (*Resume sync*, *Resume writeback*, the number of failures).

Named exceptions to the one-way rule: connecting and *Resume sync* start an import by task name,
*Resume writeback* starts writeback's drain by task name, and the disconnect page calls the
import's purge service (listed in pyproject.toml's import contract).
"""
