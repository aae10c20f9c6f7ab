"""A local stand-in for a Microsoft Dynamics 365 / Dataverse org, run as its own process.

    python -m dynamics_emulator serve --data var/org.db --https --port 0 --size small

See README.md in this folder: the ready line, demo credentials, the control endpoint, faults, and
what is faithful to Dataverse and what is simplified.
"""
