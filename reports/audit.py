"""The audit trail in words: each action code as a sentence, each change as "label: before → after".

Services record what changed as codes and raw values (``seats.services.audit_record``:
``crm.settings`` with ``{"sync_interval_minutes": 15}``); admins read "Changed the CRM
settings" and "Sync every (minutes): 15 → 30". The labels are the ones the pages use (the
settings' field names, the seed guide's questions); a code or field this module does not know
yet is still shown, by its code, rather than hidden.
"""

from dataclasses import dataclass

from crm_settings.models import CrmSettings
from seats.models import CrmSync, Role

NOT_SURE = "Not Sure"
EMPTY = "(empty)"


@dataclass(frozen=True)
class Change:
    """One field an entry changed, in words."""

    label: str
    before: str
    after: str

    def __str__(self) -> str:
        if self.before == "":
            return f"{self.label}: {self.after}"
        return f"{self.label}: {self.before} → {self.after}"


@dataclass(frozen=True)
class AuditLine:
    """An audit entry as a contract admin reads it."""

    summary: str
    changes: tuple[Change, ...]

    @property
    def changes_text(self) -> str:
        return "; ".join(str(change) for change in self.changes)


def _settings_label(name: str) -> str:
    return str(CrmSettings._meta.get_field(name).verbose_name)


# Fields whose stored value is a code and whose label sits beside it: shown once, by the label.
_LABELLED = {"pipeline_stage": "pipeline_stage_label", "won_value_column": "won_value_label"}
_FIELD_LABELS = {
    "role": "Role",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "crm_sync": "CRM sync",
    "environment_url": "Environment",
    "crm_user": "Signed in as",
    "linkedin_solution_installed": "LinkedIn Sales Navigator app installed",
    "can_impersonate": "Writes as each seat holder",
    "purchased_seats": "Purchased seats",
    "name": "Name",
    "stages": "Sales stages",
    "money_columns": "Money fields",
    "crm_users": "CRM users",
    "emails": "People",
    "not_matched": "Not matched to a CRM user",
    "failures": "Failures in a row",
    "error_kind": "Last error",
    "paused_at": "Paused since",
    "muted_kinds": "Alerts not emailed",
    "daily_digest": "Daily digest",
}
_CHOICE_LABELS = {"role": dict(Role.choices), "crm_sync": dict(CrmSync.choices)}
_SETTINGS_FIELDS = {f.name for f in CrmSettings._meta.get_fields() if hasattr(f, "verbose_name")}


def _label(name: str) -> str:
    if name in _FIELD_LABELS:
        return _FIELD_LABELS[name]
    if name in _SETTINGS_FIELDS and name not in ("id", "contract"):
        return _settings_label(name)
    return name.replace("_", " ").capitalize()


def _word(name: str, value) -> str:
    """One stored value in words."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None or value == "":
        return NOT_SURE if name in _LABELLED else EMPTY
    if name in _CHOICE_LABELS:
        return _CHOICE_LABELS[name].get(value, str(value))
    if isinstance(value, list):
        # Codes (alert kinds) read as words; emails and names are left as they are.
        return ", ".join(str(item).replace("_", " ") for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key} {amount}" for key, amount in value.items()) or EMPTY
    return str(value)


def _labelled_value(name: str, values: dict) -> str:
    label = values.get(_LABELLED[name])
    value = values.get(name)
    if value is None or value == "":
        return NOT_SURE
    return f"{label} ({value})" if label and name == "won_value_column" else label or str(value)


def _changes(before: dict, after: dict) -> tuple[Change, ...]:
    names = dict.fromkeys([*before, *after])
    # A label stored beside its field's code is shown with that field, not on its own.
    shown_with_field = {label for field, label in _LABELLED.items() if field in names}
    changes = []
    for name in names:
        if name in shown_with_field:
            continue
        if name in _LABELLED:
            old = _labelled_value(name, before) if name in before else ""
            changes.append(Change(_label(name), old, _labelled_value(name, after)))
            continue
        old = _word(name, before[name]) if name in before else ""
        new = _word(name, after[name]) if name in after else EMPTY
        changes.append(Change(_label(name), old, new))
    return tuple(changes)


def _crm_sync(entry) -> AuditLine:
    value = entry.after.get("crm_sync")
    verb = {CrmSync.ON: "Enabled", CrmSync.OFF: "Disabled"}.get(value, "Changed")
    seats = entry.before.get("crm_sync") or {}
    changes = [
        Change(email, _word("crm_sync", old), _word("crm_sync", value))
        for email, old in sorted(seats.items())
    ]
    removed = entry.after.get("removed")
    if removed:
        changes.append(Change("Imported saves removed", "", _word("removed", removed)))
    return AuditLine(f"{verb} CRM Sync for {entry.target}", tuple(changes))


def _disconnect(entry) -> AuditLine:
    purged = entry.after.get("purged")
    where = f" from {entry.target}" if entry.target else ""
    if not purged:
        return AuditLine(f"Disconnected CRM Sync{where}, keeping the imported data", ())
    removed = tuple(Change(kind[:1].upper() + kind[1:], "", str(n)) for kind, n in purged.items())
    return AuditLine(f"Disconnected CRM Sync{where} and cleaned up the imported data", removed)


def _paused(part: str):
    def sentence(entry) -> AuditLine:
        failures = entry.after.get("failures")
        return AuditLine(
            f"{part} paused itself after {failures} failures in a row", _changes({}, entry.after)
        )

    return sentence


# action code: the sentence ("{target}" is the entry's target), or a function of the entry.
SENTENCES = {
    "contract.create": "Created the contract {target}",
    "crm.connect": "Connected to Microsoft Dynamics ({target})",
    "crm.disconnect": _disconnect,
    "crm.settings": "Changed the CRM settings",
    "crm.writeback": "Changed the writeback settings",
    "crm.choices_refresh": "Read the CRM's sales stages, money fields and apps again",
    "crm.users_refresh": "Read the CRM's users again",
    "seats.create": "Assigned seats to {target}",
    "seats.invite": "Invited {target} to set a password",
    "seat.role": "Changed the role of {target}",
    "seat.details": "Changed the name or email of {target}",
    "seat.crm_sync": _crm_sync,
    "crm.sync.paused": _paused("The sync"),
    "crm.writeback.paused": _paused("Writeback"),
    "crm.sync.resume": "Resumed the sync",
    "crm.writeback.resume": "Resumed writeback",
    "alerts.preferences": "Changed the alert emails of {target}",
}
# The filter's choices: what each code is called in a list of kinds.
ACTION_NAMES = {
    "crm.connect": "Connected to CRM",
    "crm.disconnect": "Disconnected CRM",
    "crm.settings": "CRM settings",
    "crm.writeback": "Writeback settings",
    "crm.choices_refresh": "Refreshed from CRM",
    "crm.users_refresh": "Read CRM users",
    "seats.create": "Seats assigned",
    "seats.invite": "Invitations sent",
    "seat.role": "Role changed",
    "seat.details": "Name or email changed",
    "seat.crm_sync": "CRM Sync enabled or disabled",
    "crm.sync.paused": "Sync paused itself",
    "crm.writeback.paused": "Writeback paused itself",
    "crm.sync.resume": "Sync resumed",
    "crm.writeback.resume": "Writeback resumed",
    "alerts.preferences": "Alert emails",
    "contract.create": "Contract created",
}


def audit_line(entry) -> AuditLine:
    """The entry (``seats.models.AuditEntry``) as a sentence and its changes in words."""
    sentence = SENTENCES.get(entry.action)
    if callable(sentence):
        return sentence(entry)
    if sentence is None:
        summary = f"{entry.action} {entry.target}".strip()
    else:
        summary = sentence.format(target=entry.target or "the contract").strip()
    return AuditLine(summary, _changes(entry.before or {}, entry.after or {}))
