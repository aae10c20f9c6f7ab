"""django-q2 tasks of crm_settings. Thin: they take ids, re-fetch, and call the services.

Each is safe to run twice or at the same time: a refresh writes what it read from the CRM, so
the last one to finish wins with values as fresh as any; the sweep only starts waiting tasks, each
once (``crm_settings.slots``).
"""

from django_q.tasks import async_task

from crm_settings.connect import crm_choices_refresh
from crm_settings.messages import CrmProblem
from crm_settings.models import CrmConnection
from crm_settings.slots import slot_waiters_wake_due

CRM_CHOICES_REFRESH_DUE = "crm_settings.tasks.crm_choices_refresh_due"
CRM_CHOICES_REFRESH = "crm_settings.tasks.crm_choices_refresh_contract"
SLOT_WAITERS_WAKE = "crm_settings.tasks.slot_waiters_wake"


def crm_choices_refresh_due() -> list[int]:
    """The daily schedule: enqueue a refresh of the org's choices for every connected contract.

    One task per contract, so one slow or failing org holds up no other. Returns the contract
    ids enqueued.
    """
    contract_ids = list(
        CrmConnection.objects.order_by("contract_id").values_list("contract_id", flat=True)
    )
    for contract_id in contract_ids:
        async_task(CRM_CHOICES_REFRESH, contract_id, task_name="crm-choices-refresh")
    return contract_ids


def crm_choices_refresh_contract(contract_id: int) -> str:
    """Read one contract's CRM choices (stages, money fields, LinkedIn app) again and store them.

    Returns quietly when the contract is no longer connected. A CRM failure is recorded on the
    connection (CRM Settings shows it) and reported in the task's result, not raised: the next
    day's run, *Refresh from CRM* or the next import tries again.
    """
    connection = CrmConnection.objects.filter(contract_id=contract_id).first()
    if connection is None:
        return "not connected"
    try:
        choices = crm_choices_refresh(connection=connection, interactive=False)
    except CrmProblem as problem:
        return f"failed: {problem.admin_message.text}"
    return f"read {len(choices.stage_options)} stages and {len(choices.money_columns)} money fields"


def slot_waiters_wake() -> int:
    """The minute sweep of fair scheduling (``crm_settings.slots``): start the tasks that wait for
    a worker slot of a contract whose slot is free again (its worker died); returns how many."""
    return slot_waiters_wake_due()
