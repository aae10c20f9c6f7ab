"""The prospecting side the CRM is synced with: companies and network members, and each seat
holder's saved Accounts and Leads, saved by hand or imported (DESIGN §3: above crm_settings, below
sync).

Modules:

- ``models``: Company, Member, SavedAccount, SavedLead (``from_crm`` and ``saved_by_hand`` marks);
- ``imported``: what the import saved for a seat, and taking it away (imported-only saves go,
  hand-made ones only lose the mark);
- ``loading`` and ``normalize``: loading the network in bulk, validated row by row; the
  normalised domains and names matching uses; ``demo``: the demo network;
- ``selectors``, ``views``, ``urls``: the seat holder's Accounts and Leads pages (*Why not
  imported?* is read from the import through ``sync.selectors``, the named exception).
"""
