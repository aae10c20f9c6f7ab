"""The contract's sync and writeback answers on CRM Settings, starting the import, and moving
the stored CRM sign-ins to the newest encryption key.

Every change of an answer writes an audit entry with the values before and after.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from crm_settings.crypto import TokenDecryptionError, reencrypt
from crm_settings.models import CrmConnection, CrmSettings
from crm_settings.selectors import crm_settings_get
from seats.models import Contract, User
from seats.services import audit_record

# The import's task (``sync.tasks.SYNC_RUN``) spelt out: crm_settings sits below sync and may not
# import it (DESIGN §3). tests/portal/test_task_names.py checks that the two names agree.
SYNC_RUN_TASK = "sync.tasks.sync_run"


def import_enqueue(*, contract: Contract, trigger: str) -> None:
    """Ask the import (a higher app) to run, by task name, once the current transaction commits.

    The documented exception to the layering (DESIGN §3): crm_settings sits below sync and never
    imports its code, yet connecting and changing what the import reads must start it. It queues
    the task ``sync.services.sync_enqueue`` queues, as an ordinary (not full) import; sync itself
    always goes through that function.
    """
    from django_q.tasks import async_task

    contract_id = contract.pk
    transaction.on_commit(
        lambda: async_task(SYNC_RUN_TASK, contract_id, trigger, task_name=f"sync-{trigger}")
    )


SYNC_FIELDS = (
    "auto_sync",
    "pipeline_stage",
    "pipeline_stage_label",
    "won_value_column",
    "won_value_label",
    "contact_profile_url_column",
    "sync_interval_minutes",
)
# Answers that change what the import reads or decides: saving one re-runs it now.
_REIMPORT_FIELDS = {"pipeline_stage", "auto_sync", "won_value_column", "contact_profile_url_column"}
# Answers that decide which saves the import makes: changing one is previewed first.
_SAVES_FIELDS = ("pipeline_stage", "auto_sync")


def sync_settings_change_saves(*, crm_settings: CrmSettings, values: dict) -> bool:
    """Whether saving ``values`` (as ``sync_settings_update`` takes them) changes what decides
    the seat holders' saves: a new pipeline stage or auto-sync answer. CRM Settings then shows
    what the import would do before saving (``sync.preview``)."""
    return any(
        name in values and values[name] != getattr(crm_settings, name) for name in _SAVES_FIELDS
    )


WRITEBACK_FIELDS = (
    "writeback_enabled",
    "writeback_all",
    "writeback_inmails",
    "writeback_messages",
    "writeback_notes",
)


def _check_fields(values: dict, fields: tuple[str, ...]) -> None:
    """Refuse values the model's fields do not allow (the sync interval's range, the profile
    column's form), whichever door they came through: CRM Settings, the Django admin, a task."""
    errors = {}
    for name in fields:
        if name not in values:
            continue
        try:
            CrmSettings._meta.get_field(name).run_validators(values[name])
        except ValidationError as error:
            errors[name] = error.messages
    if errors:
        raise ValidationError(errors)


def _apply(crm_settings: CrmSettings, values: dict, fields: tuple[str, ...]):
    before, after = {}, {}
    for name in fields:
        if name in values and getattr(crm_settings, name) != values[name]:
            before[name] = getattr(crm_settings, name)
            after[name] = values[name]
            setattr(crm_settings, name, values[name])
    return before, after


@transaction.atomic
def sync_settings_update(
    *, contract: Contract, values: dict, stage_options: list[dict], by: User
) -> CrmSettings:
    """Save the three sync answers (and the interval); re-import when the gate got wider.

    ``stage_options`` is the pipeline-stage choice list as read from the CRM, in its order; it is
    saved with the answer so "at or beyond the stage" keeps its meaning. Raises ValidationError
    for a value the fields do not allow.
    """
    _check_fields(values, SYNC_FIELDS)
    crm_settings = CrmSettings.objects.select_for_update().get(
        pk=crm_settings_get(contract=contract).pk
    )
    if values.get("pipeline_stage") is not None:
        crm_settings.pipeline_stage_options = stage_options
    before, after = _apply(crm_settings, values, SYNC_FIELDS)
    if not after:
        return crm_settings
    crm_settings.save()
    audit_record(contract=contract, actor=by, action="crm.settings", before=before, after=after)
    # These decide what is read and imported: re-run now, not at the next interval.
    if _REIMPORT_FIELDS & set(after):
        # By task name: the import lives in sync, above this app (import_enqueue).
        import_enqueue(contract=contract, trigger="settings")
    return crm_settings


def writeback_values_check(*, values: dict, solution_installed: bool) -> None:
    """The writeback answers' rules, raised as ValidationError: enabling needs the LinkedIn
    solution in the org, and choosing the items needs at least one of them."""
    if values.get("writeback_enabled") and not solution_installed:
        raise ValidationError(
            "Writeback needs the LinkedIn Sales Navigator for Dynamics app in your CRM. "
            "Select Get it now, install it, then select Refresh from CRM."
        )
    if (
        values.get("writeback_enabled")
        and not values.get("writeback_all", True)
        and not any(
            values.get(f) for f in ("writeback_inmails", "writeback_messages", "writeback_notes")
        )
    ):
        raise ValidationError("Choose at least one of InMails, Messages or Notes to sync back.")


@transaction.atomic
def writeback_settings_update(
    *, contract: Contract, values: dict, solution_installed: bool, by: User
) -> CrmSettings:
    """Save the writeback answers (``writeback_values_check`` first)."""
    writeback_values_check(values=values, solution_installed=solution_installed)
    crm_settings = CrmSettings.objects.select_for_update().get(
        pk=crm_settings_get(contract=contract).pk
    )
    before, after = _apply(crm_settings, values, WRITEBACK_FIELDS)
    if after:
        crm_settings.save()
        audit_record(
            contract=contract, actor=by, action="crm.writeback", before=before, after=after
        )
    return crm_settings


REENCRYPT_BATCH = 100


@dataclass
class Reencryption:
    """What ``connection_tokens_reencrypt`` did, in counts of stored CRM sign-ins."""

    reencrypted: int = 0
    # Already encrypted with the newest key: left as they were.
    current: int = 0
    # Saved by a token refresh while the command ran: left to that save (run again to check).
    changed: int = 0
    # No configured key reads them: (contract id, contract name); those contracts must connect
    # to CRM again.
    unreadable: list[tuple[int, str]] = field(default_factory=list)


def connection_tokens_reencrypt(*, batch_size: int = REENCRYPT_BATCH) -> Reencryption:
    """Encrypt every stored CRM sign-in with the newest key of ``PORTAL_ENCRYPTION_KEY``.

    1. Read the connections in id order, ``batch_size`` at a time (memory stays bounded).
    2. Leave those the newest key already reads; re-encrypt the others, and list those no key
       reads.
    3. Write each with an UPDATE conditional on the ciphertext read, so a token refresh that saved
       a newer cache meanwhile is never overwritten with the older one.

    Safe to run again, and while the portal runs (every process already listing the new key
    first): a second run finds every readable sign-in current. Once a run reports none changed
    meanwhile, every readable sign-in uses the newest key and the older keys can be dropped.
    """
    result = Reencryption()
    after = 0
    while True:
        batch = list(
            CrmConnection.objects.filter(pk__gt=after)
            .exclude(token_cache_encrypted="")
            .order_by("pk")
            .values_list("pk", "contract_id", "contract__name", "token_cache_encrypted")[
                :batch_size
            ]
        )
        for pk, contract_id, contract_name, ciphertext in batch:
            try:
                fresh = reencrypt(ciphertext)
            except TokenDecryptionError:
                result.unreadable.append((contract_id, contract_name))
                continue
            if fresh is None:
                result.current += 1
            elif CrmConnection.objects.filter(pk=pk, token_cache_encrypted=ciphertext).update(
                token_cache_encrypted=fresh
            ):
                result.reencrypted += 1
            else:
                result.changed += 1
        if len(batch) < batch_size:
            return result
        after = batch[-1][0]
