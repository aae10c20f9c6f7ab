"""Deterministic demo data: a Dynamics 365 org and the prospecting network that goes with it.

Used by the Dynamics emulator (to seed its org) and by the portal's demo command (to build a
matching network from the same seed). Plain Python: it imports nothing from the project.

    org = generate_org("demo", seed=42)
    for account in org.accounts: ...
    network = network_for_org(org, seed=42)
    for person in network.people: ...
"""

from .network import Network, network_for_org
from .org import (
    DEMO_APP,
    DEMO_USERS,
    EMAIL_DOMAIN,
    SALES_STAGES,
    SIZES,
    DemoApp,
    DemoUser,
    Org,
    Size,
    generate_org,
    make_id,
)

__all__ = [
    "DEMO_APP",
    "DEMO_USERS",
    "EMAIL_DOMAIN",
    "SALES_STAGES",
    "SIZES",
    "DemoApp",
    "DemoUser",
    "Network",
    "Org",
    "Size",
    "generate_org",
    "make_id",
    "network_for_org",
]
