"""The demo's prospecting network, generated from the same seed as the emulator's demo org.

``demodata.network_for_org`` gives about 70% of the org's contacts and accounts a network
counterpart (most by email or website domain, some only by name and company, a few with a name
spelled differently) plus members with no CRM record at all, so the demo shows matched,
name-matched and unmatched records side by side.
"""

import demodata
from network.loading import PERSON_FIELDS, LoadReport, network_load, numbered

DEMO_SEED = 42


def network_seed(*, size: str = "demo", seed: int = DEMO_SEED) -> LoadReport:
    """Load the network that matches the ``size`` org of ``seed``; idempotent.

    ``size="huge"`` (the benchmark's org) streams about 275,000 rows through the bulk loader.
    """
    network = demodata.network_for_org(demodata.generate_org(size, seed), seed)
    return network_load(
        companies=numbered(network.companies),
        people=numbered(_person(person) for person in network.people),
    )


def _person(person: dict) -> dict:
    # The generator's ground-truth columns (crm_contactid, match...) are for tests, not the network.
    return {name: person[name] for name in PERSON_FIELDS}
