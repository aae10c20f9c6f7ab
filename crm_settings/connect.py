"""Connecting a contract to Dynamics and disconnecting it (seed guide, "Connect Sales Navigator
with your CRM" and "Sync status and disconnecting your sync").

The connect flow has two halves around the Microsoft sign-in:

1. ``connection_start`` validates the environment URL (before any request is made) and begins
   msal's authorization-code flow; the view keeps the returned ``PendingSignIn`` in the session and
   sends the admin to the sign-in page.
2. ``connection_complete`` finishes the flow with the redirect's parameters, asks Dynamics who
   signed in, runs the pre-flight check and only then saves the connection and enqueues the first
   import. Any failure raises and saves nothing, so no half-connected state is left behind.
"""

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm_settings.crm import build_auth, build_client, new_session, open_client
from crm_settings.messages import CrmProblem
from crm_settings.models import CrmConnection
from crm_settings.selectors import CrmChoices, crm_choices_get, crm_settings_get
from crm_settings.services import import_enqueue
from dynamics import (
    AuthError,
    DynamicsClient,
    DynamicsError,
    EnvironmentUrlRefused,
    PrivilegeError,
    Throttled,
    environment_origin,
)
from seats.models import Contract, User
from seats.services import audit_record

logger = logging.getLogger(__name__)

# The tables the import reads, by logical name and entity set, with their primary keys.
REQUIRED_TABLES = {
    "systemuser": ("systemusers", "systemuserid"),
    "account": ("accounts", "accountid"),
    "contact": ("contacts", "contactid"),
    "opportunity": ("opportunities", "opportunityid"),
}


def environment_url_clean(value: str) -> str:
    """The environment's origin (``https://org.crm.dynamics.com``), or ValidationError.

    Admins often paste the Web API endpoint (``.../api/data/v9.2``) from Power Apps' Developer
    resources; the path is dropped. The rule is the client's own (``dynamics.environment``): only
    https and Dynamics hosts, unless the operator allowed another exact host (the emulator) in
    DYNAMICS_EXTRA_ALLOWED_HOSTS; its message becomes the form's.
    """
    try:
        return environment_origin(value, extra_allowed_hosts=settings.DYNAMICS_EXTRA_ALLOWED_HOSTS)
    except EnvironmentUrlRefused as refused:
        raise ValidationError(refused.message) from None


def tenant_clean(value: str) -> str:
    value = (value or "").strip()
    if value and not all(c.isalnum() or c in "-." for c in value):
        raise ValidationError(
            "Enter the tenant as a domain (contoso.onmicrosoft.com) or a directory ID, or leave "
            "it blank."
        )
    return value


@dataclass
class PendingSignIn:
    """What the view keeps in the session between sending the admin off and their return."""

    environment_url: str
    tenant: str
    flow: dict

    def to_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> "PendingSignIn | None":
        try:
            return cls(**data)
        except TypeError:
            return None


def connection_start(
    *, environment_url: str, tenant: str, redirect_uri: str, login_hint: str = ""
) -> PendingSignIn:
    """Validate the form's values and begin the Microsoft sign-in (authorization-code flow).

    Raises ValidationError for a bad form value and CrmProblem when Microsoft cannot be reached.
    """
    try:
        return _connection_start(
            environment_url=environment_url,
            tenant=tenant,
            redirect_uri=redirect_uri,
            login_hint=login_hint,
        )
    except DynamicsError as error:
        raise CrmProblem.from_error(error) from error


def _connection_start(
    *, environment_url: str, tenant: str, redirect_uri: str, login_hint: str
) -> PendingSignIn:
    environment_url = environment_url_clean(environment_url)
    tenant = tenant_clean(tenant)
    if not settings.DYNAMICS_CLIENT_ID or not settings.DYNAMICS_CLIENT_SECRET:
        raise ValidationError(
            "The portal has no Dynamics app registration yet: the operator must set "
            "DYNAMICS_CLIENT_ID and DYNAMICS_CLIENT_SECRET (see the README)."
        )
    auth = build_auth(
        environment_url=environment_url, tenant=tenant, token_cache=None, session=new_session()
    )
    flow = auth.start_sign_in(redirect_uri, login_hint=login_hint or None)
    return PendingSignIn(environment_url=environment_url, tenant=tenant, flow=flow)


@dataclass
class Preflight:
    tables: dict
    # The org's choices CRM Settings offers, as the connection's fields (``_crm_choices_read``).
    choices: dict
    can_impersonate: bool

    def as_json(self) -> dict:
        return {"tables": self.tables, "checked_at": timezone.now().isoformat()}


def connection_preflight(client: DynamicsClient, *, user_id: str) -> Preflight:
    """Check that the signed-in user can do what the import and writeback need.

    1. For each required table: its metadata can be read (else MissingObjectError), one row can be
       read (else PrivilegeError), and whether change tracking is on (incremental syncs need it;
       without it the import falls back to ``modifiedon``).
    2. The choices CRM Settings offers: the opportunity's sales stages and money columns, and
       whether the LinkedIn Sales Navigator solution's activity tables exist (writeback needs
       them; the *Get it now* step otherwise). They are stored, so the page never asks again.
    3. Whether the user may act on behalf of others (probed with one impersonated WhoAmI).
    Raises the first blocking DynamicsError.
    """
    tables = {}
    for logical_name, (entity_set, key) in REQUIRED_TABLES.items():
        tracking = client.change_tracking_enabled(logical_name)
        next(client.iter_pages(entity_set, select=[key], page_size=1))
        tables[logical_name] = {"readable": True, "change_tracking": tracking}
    return Preflight(
        tables=tables,
        choices=_crm_choices_read(client),
        can_impersonate=impersonation_allowed(client, user_id=user_id),
    )


def _crm_choices_read(client: DynamicsClient) -> dict:
    """The org's choices CRM Settings offers, as the connection's fields (``crm_choices_get``)."""
    stages = client.picklist_options("opportunity", "salesstage")
    columns = client.money_columns("opportunity")
    return {
        "stage_options": [{"value": o.value, "label": o.label} for o in stages],
        "money_columns": [{"logical_name": c.logical_name, "label": c.label} for c in columns],
        "linkedin_solution_installed": client.linkedin_solution_installed(),
        "choices_read_at": timezone.now(),
    }


def impersonation_allowed(client: DynamicsClient, *, user_id: str) -> bool:
    """True when a WhoAmI sent on behalf of another enabled user answers as that user."""
    others = next(
        client.iter_pages(
            "systemusers",
            select=["systemuserid", "azureactivedirectoryobjectid"],
            filter=(
                "isdisabled eq false and azureactivedirectoryobjectid ne null "
                f"and systemuserid ne {user_id}"
            ),
            page_size=1,
        )
    ).rows
    if not others:
        return False
    other = others[0]
    try:
        answer = client.whoami(caller_object_id=other["azureactivedirectoryobjectid"])
    except PrivilegeError:
        return False
    return str(answer.get("UserId", "")).lower() == str(other["systemuserid"]).lower()


def connection_complete(
    *, contract: Contract, pending: PendingSignIn, params: dict, by: User
) -> CrmConnection:
    """Finish the sign-in, check the org and save the connection; raises and saves nothing on error.

    Raises CrmProblem: with the sign-in's own words for a cancelled or tampered sign-in, with the
    guide's message for a failed check of the org.
    """
    try:
        return _connection_complete(contract=contract, pending=pending, params=params, by=by)
    except AuthError as error:
        raise CrmProblem.sign_in_refused(error) from error
    except DynamicsError as error:
        raise CrmProblem.from_error(error) from error


def _connection_complete(
    *, contract: Contract, pending: PendingSignIn, params: dict, by: User
) -> CrmConnection:
    if params.get("error") == "access_denied":
        raise AuthError("The sign-in to Microsoft Dynamics was cancelled; nothing was changed.")
    session = new_session()
    auth = build_auth(
        environment_url=pending.environment_url,
        tenant=pending.tenant,
        token_cache=None,
        session=session,
    )
    client = build_client(
        environment_url=pending.environment_url, auth=auth, session=session, interactive=True
    )
    try:
        claims = auth.finish_sign_in(pending.flow, params)
        who = client.whoami()
        user_id = who["UserId"]
        user = client.get_row(
            "systemusers", user_id, select=["fullname", "internalemailaddress", "domainname"]
        )
        preflight = connection_preflight(client, user_id=user_id)
    finally:
        client.close()
    with transaction.atomic():
        CrmConnection.objects.filter(contract=contract).delete()
        connection = CrmConnection(
            contract=contract,
            environment_url=pending.environment_url,
            tenant=pending.tenant,
            connected_by=by,
            crm_user_id=user_id,
            crm_user_name=user.get("fullname") or claims.get("name") or "",
            crm_user_email=(
                user.get("internalemailaddress")
                or user.get("domainname")
                or claims.get("preferred_username")
                or ""
            ),
            organization_id=who.get("OrganizationId"),
            preflight=preflight.as_json(),
            can_impersonate=preflight.can_impersonate,
            **preflight.choices,
        )
        connection.token_cache = auth.cache_state()
        connection.save()
        crm_settings_get(contract=contract)
        audit_record(
            contract=contract,
            actor=by,
            action="crm.connect",
            target=pending.environment_url,
            after={
                "environment_url": pending.environment_url,
                "crm_user": connection.crm_user_name,
                "linkedin_solution_installed": connection.linkedin_solution_installed,
                "can_impersonate": connection.can_impersonate,
            },
        )
        # The first import, by task name: it lives in sync, above this app (import_enqueue).
        import_enqueue(contract=contract, trigger="connect")
    return connection


def connection_record_error(*, connection: CrmConnection, error: DynamicsError) -> None:
    """Remember the last failure of a live connection so CRM Settings can show it.

    Being asked to wait (``Throttled``) is not a failure of the connection: the API budget
    gauge shows it (``crm_settings.budget``), and the error clears itself.
    """
    if isinstance(error, Throttled):
        return
    fields = {
        "last_error_kind": error.kind,
        "last_error_detail": str(error)[:2000],
        "last_error_at": timezone.now(),
    }
    if isinstance(error, AuthError):
        fields["status"] = CrmConnection.Status.ERROR
    CrmConnection.objects.filter(pk=connection.pk).update(**fields)


def connection_clear_error(*, connection: CrmConnection) -> None:
    CrmConnection.objects.filter(pk=connection.pk).exclude(last_error_kind="").update(
        status=CrmConnection.Status.CONNECTED, last_error_kind="", last_error_detail=""
    )


def connection_stop_impersonating(*, connection: CrmConnection) -> None:
    """The connecting user may no longer act for others (the CRM refused): write owner-only."""
    CrmConnection.objects.filter(pk=connection.pk).update(can_impersonate=False)
    connection.can_impersonate = False


def connection_refresh_solution(*, connection: CrmConnection, client: DynamicsClient) -> bool:
    """Re-check whether the LinkedIn solution is installed (the guide: "refresh your page")."""
    installed = client.linkedin_solution_installed()
    if installed != connection.linkedin_solution_installed:
        connection.linkedin_solution_installed = installed
        connection.save(update_fields=["linkedin_solution_installed"])
    return installed


@transaction.atomic
def connection_disconnect(*, contract: Contract, by: User, purged: dict | None = None) -> bool:
    """Delete the connection and its tokens; scheduled syncs stop because nothing is connected.

    ``purged`` carries the counts the clean-up removed (the view calls the import's purge in the
    same transaction when the admin chose *Yes, clean up all previously imported CRM data*).
    Returns False when the contract was not connected.
    """
    connection = CrmConnection.objects.filter(contract=contract).first()
    if connection is None and purged is None:
        return False
    before = {"environment_url": connection.environment_url} if connection else {}
    CrmConnection.objects.filter(contract=contract).delete()
    audit_record(
        contract=contract,
        actor=by,
        action="crm.disconnect",
        target=before.get("environment_url", ""),
        before=before,
        after={"purged": purged} if purged is not None else {"purged": False},
    )
    return True


def crm_choices_refresh(
    *,
    connection: CrmConnection,
    client: DynamicsClient | None = None,
    interactive: bool = True,
    by: User | None = None,
) -> CrmChoices:
    """Read the org's choices again and store them on the connection: *Refresh from CRM*, the
    daily schedule (``crm_settings.tasks``) and an import that finds none stored.

    Reads the opportunity's sales stages and money columns and whether the LinkedIn solution is
    installed (the guide: "once installation has completed within Dynamics, refresh your page").
    Without ``client`` it opens the connection's own (``interactive``: with the short retries of
    a page someone waits on; background work passes False), and a success clears the
    connection's last error. A failure is recorded on the connection (CRM Settings shows it) and
    raised as CrmProblem; the stored choices stay as they were. ``by``, the admin who asked, is
    recorded in the audit trail.
    """
    try:
        if client is None:
            with open_client(connection, interactive=interactive) as own:
                fields = _crm_choices_read(own)
        else:
            fields = _crm_choices_read(client)
    except DynamicsError as error:
        logger.info("CRM choices not read for contract %s: %s", connection.contract_id, error)
        connection_record_error(connection=connection, error=error)
        raise CrmProblem.from_error(error) from error
    # An UPDATE, not save(): a disconnect meanwhile deleted the row and must stay deleted.
    CrmConnection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    if client is None:
        connection_clear_error(connection=connection)
    choices = crm_choices_get(connection=connection)
    if by is not None:
        audit_record(
            contract=connection.contract,
            actor=by,
            action="crm.choices_refresh",
            after={
                "stages": len(choices.stage_options),
                "money_columns": len(choices.money_columns),
                "linkedin_solution_installed": choices.solution_installed,
            },
        )
    return choices
