"""Reads of a contract's CRM connection and settings, for every app above this one."""

from dataclasses import dataclass
from datetime import datetime

from crm_settings.crm import connection_unusable
from crm_settings.messages import CrmProblem
from crm_settings.models import CrmConnection, CrmSettings
from seats.models import Contract


def crm_settings_get(*, contract: Contract) -> CrmSettings:
    """The contract's CRM settings; defaults (created on first use) when never saved."""
    crm_settings, _ = CrmSettings.objects.get_or_create(contract=contract)
    return crm_settings


def crm_settings_read(*, contract: Contract) -> CrmSettings:
    """The contract's CRM settings for a page: unsaved defaults when never saved (no write)."""
    return CrmSettings.objects.filter(contract=contract).first() or CrmSettings(contract=contract)


def crm_connection_get(*, contract: Contract) -> CrmConnection | None:
    """The live connection, or None when the contract is not connected."""
    return CrmConnection.objects.filter(contract=contract).first()


def crm_connection_problem(*, connection: CrmConnection) -> CrmProblem | None:
    """What stops the connection from being used, found without asking Dynamics or writing
    anything (CRM Settings shows it at once): a stored sign-in no key reads, a stored
    environment URL the portal refuses. The first use of the connection records it."""
    error = connection_unusable(connection)
    return None if error is None else CrmProblem.from_error(error)


@dataclass(frozen=True)
class StageOption:
    """One sales stage of the CRM's opportunities."""

    value: int
    label: str


@dataclass(frozen=True)
class MoneyColumn:
    """One currency column of the CRM's opportunities, where a won value may be kept."""

    logical_name: str
    label: str


@dataclass(frozen=True)
class CrmChoices:
    """What CRM Settings offers, as last read from the org and stored on the connection."""

    stage_options: tuple[StageOption, ...]
    money_columns: tuple[MoneyColumn, ...]
    solution_installed: bool
    read_at: datetime | None

    @property
    def loaded(self) -> bool:
        """Whether the org's stages and money fields are known: False until *Refresh from CRM*,
        the daily refresh or the next import reads them (or when the org offered none)."""
        return self.read_at is not None and bool(self.stage_options) and bool(self.money_columns)

    def stage(self, value: int) -> StageOption | None:
        return next((option for option in self.stage_options if option.value == value), None)

    def money_column(self, logical_name: str) -> MoneyColumn | None:
        return next((c for c in self.money_columns if c.logical_name == logical_name), None)


def crm_choices_get(*, connection: CrmConnection) -> CrmChoices:
    """The org's choices stored on ``connection``; reads the database only, never Dynamics."""
    stages = tuple(
        StageOption(value=item["value"], label=item["label"])
        for item in connection.stage_options or []
        if isinstance(item, dict) and isinstance(item.get("value"), int)
    )
    columns = tuple(
        MoneyColumn(logical_name=item["logical_name"], label=item.get("label") or "")
        for item in connection.money_columns or []
        if isinstance(item, dict) and isinstance(item.get("logical_name"), str)
    )
    return CrmChoices(
        stage_options=stages,
        money_columns=columns,
        solution_installed=connection.linkedin_solution_installed,
        read_at=connection.choices_read_at,
    )
