"""Admin > Admin Settings > CRM Settings: connect, configure, writeback, disconnect."""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm_settings.budget import connection_budget_get
from crm_settings.connect import (
    PendingSignIn,
    connection_complete,
    connection_disconnect,
    connection_start,
    crm_choices_refresh,
)
from crm_settings.crypto import TokenDecryptionError
from crm_settings.doctor import connection_check
from crm_settings.forms import ConnectForm, DisconnectForm, SyncSettingsForm, WritebackForm
from crm_settings.messages import THROTTLED, CrmProblem, admin_message, crm_problem_show
from crm_settings.pause_views import auto_pause_context
from crm_settings.selectors import (
    crm_choices_get,
    crm_connection_get,
    crm_connection_problem,
    crm_settings_get,
    crm_settings_read,
)
from crm_settings.services import (
    sync_settings_change_saves,
    sync_settings_update,
    writeback_settings_update,
)
from seats.access import admin_required

# crm_settings sits below sync; the disconnect page reads and purges the import's rows through
# these two entry points, and a change of the stage or auto-sync answer is previewed through the
# third (DESIGN §3: "calls one service there from its view").
from sync.preview import saves_preview
from sync.purge import imported_data_counts, imported_data_purge

logger = logging.getLogger(__name__)
PENDING_KEY = "crm_settings.pending_sign_in"


def _page(
    request,
    *,
    connect_form=None,
    sync_form=None,
    writeback_form=None,
    check_report=None,
    status=200,
):
    """CRM Settings from the database alone: what it offers from the CRM is stored, never read
    here (``crm_choices_get``; *Refresh from CRM* reads it again)."""
    contract = request.contract
    crm_settings = crm_settings_read(contract=contract)
    connection = crm_connection_get(contract=contract)
    context = {
        "nav": "admin",
        "crm_settings": crm_settings,
        "connection": connection,
        "connect_form": connect_form or ConnectForm(),
    }
    if connection is not None:
        choices = crm_choices_get(connection=connection)
        context["choices"] = choices
        context["sync_form"] = sync_form or SyncSettingsForm(
            crm_settings=crm_settings, choices=choices
        )
        context["writeback_form"] = writeback_form or WritebackForm(crm_settings=crm_settings)
        context["api_budget"] = connection_budget_get(connection=connection)
        problem = crm_connection_problem(connection=connection)
        if problem is not None:
            context["connection_error"] = problem.admin_message
        elif connection.last_error_kind:
            context["connection_error"] = admin_message(
                connection.last_error_kind, connection.last_error_detail
            )
        # The stored sign-in cannot be read: connecting again, to the same environment, is the
        # way out, so it is offered right here.
        kind = problem.kind if problem else connection.last_error_kind
        context["reconnect"] = kind == TokenDecryptionError.kind
        context.update(auto_pause_context(contract=contract))
        context["check_report"] = check_report
    return render(request, "crm_settings/index.html", context, status=status)


@admin_required
@require_GET
def index(request):
    return _page(request)


@admin_required
@require_POST
def connect(request):
    """*Connect to CRM*: check the environment URL, then send the admin to Microsoft sign-in."""
    form = ConnectForm(request.POST)
    if not form.is_valid():
        return _page(request, connect_form=form, status=400)
    redirect_uri = request.build_absolute_uri(reverse("crm_settings:callback"))
    try:
        pending = connection_start(
            environment_url=form.cleaned_data["environment_url"],
            tenant=form.cleaned_data["tenant"],
            redirect_uri=redirect_uri,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _page(request, connect_form=form, status=400)
    except CrmProblem as problem:
        crm_problem_show(request, problem)
        return _page(request, connect_form=form, status=502)
    request.session[PENDING_KEY] = pending.to_session()
    return redirect(pending.flow["auth_uri"])


CONNECTED = "Connected to Microsoft Dynamics. The first sync has started: its progress shows below."


@admin_required
@require_GET
def callback(request):
    """Where Microsoft sign-in returns: finish the flow, check the org, save the connection."""
    pending = PendingSignIn.from_session(request.session.pop(PENDING_KEY, None))
    if pending is None:
        messages.error(
            request,
            "This sign-in was not started from this page, or it expired. Select Connect to CRM "
            "to start again.",
        )
        return redirect("crm_settings:index")
    try:
        connection_complete(
            contract=request.contract, pending=pending, params=request.GET.dict(), by=request.user
        )
    except CrmProblem as problem:
        log = logger.info if problem.kind == "auth" else logger.warning
        log("CRM connect failed for contract %s: %s", request.contract.pk, problem.__cause__)
        crm_problem_show(request, problem)
        return redirect("crm_settings:index")
    # Not "Successfully connected, sync in progress": that is the status panel's own notice,
    # which refreshes itself and goes when the first sync ends; a message would stay behind.
    messages.success(request, CONNECTED)
    return redirect("crm_settings:index")


@admin_required
@require_POST
def refresh_choices(request):
    """*Refresh from CRM*: read the org's stages, money fields and LinkedIn app again, now."""
    connection = crm_connection_get(contract=request.contract)
    if connection is None:
        messages.error(request, "Connect to CRM before refreshing from it.")
        return redirect("crm_settings:index")
    try:
        crm_choices_refresh(connection=connection, by=request.user)
    except CrmProblem as problem:
        # A failure is recorded on the connection: the page shows the guide's message, next step
        # and detail at the top, once, until a later use of the connection succeeds. Being asked
        # to wait is not recorded (the API budget gauge shows the pause), so it is said here.
        if problem.kind == THROTTLED:
            crm_problem_show(request, problem)
        return redirect("crm_settings:index")
    messages.success(request, "Read your CRM's sales stages, money fields and apps again.")
    return redirect("crm_settings:index")


@admin_required
@require_POST
def check_connection(request):
    """*Check connection*: every read-only check the import and writeback need, shown on the
    page (``crm_settings.doctor``; nothing is written to Dynamics or stored)."""
    connection = crm_connection_get(contract=request.contract)
    if connection is None:
        messages.error(request, "Connect to CRM before checking the connection.")
        return redirect("crm_settings:index")
    return _page(request, check_report=connection_check(connection=connection))


@admin_required
@require_POST
def save_sync_settings(request):
    contract = request.contract
    connection = crm_connection_get(contract=contract)
    if connection is None:
        messages.error(request, "Connect to CRM before configuring the sync.")
        return redirect("crm_settings:index")
    form = SyncSettingsForm(
        request.POST,
        crm_settings=crm_settings_get(contract=contract),
        choices=crm_choices_get(connection=connection),
    )
    if not form.is_valid():
        return _page(request, sync_form=form, status=400)
    values = form.values()
    if request.POST.get("confirm") != "yes" and sync_settings_change_saves(
        crm_settings=form.crm_settings, values=values
    ):
        return _settings_preview(request, form=form, values=values)
    sync_settings_update(
        contract=contract,
        values=values,
        stage_options=form.stage_options_json(),
        by=request.user,
    )
    messages.success(request, "CRM settings saved.")
    return redirect("crm_settings:index")


def _settings_preview(request, *, form: SyncSettingsForm, values: dict):
    """The confirm step of a new stage or auto-sync answer: what the import would then do, with
    *Save* (the same answers again, confirmed) and *Cancel* (nothing saved)."""
    stage = None
    if "pipeline_stage" in values:
        stage = (values["pipeline_stage"], form.stage_options_json())
    preview = saves_preview(
        contract=request.contract, stage=stage, auto_sync=values.get("auto_sync")
    )
    answers = [
        (form[name].label, form[name].value(), dict(form.fields[name].choices))
        for name in ("pipeline_stage", "auto_sync")
    ]
    return render(
        request,
        "crm_settings/settings_preview.html",
        {
            "nav": "admin",
            "preview": preview,
            "answers": [
                (label, choices.get(str(value), value)) for label, value, choices in answers
            ],
            "fields": [
                (name, value)
                for name, values_ in request.POST.lists()
                if name not in ("csrfmiddlewaretoken", "confirm")
                for value in values_
            ],
        },
    )


@admin_required
@require_POST
def save_writeback_settings(request):
    contract = request.contract
    connection = crm_connection_get(contract=contract)
    if connection is None:
        messages.error(request, "Connect to CRM before enabling writeback.")
        return redirect("crm_settings:index")
    crm_settings = crm_settings_get(contract=contract)
    form = WritebackForm(request.POST, crm_settings=crm_settings)
    if not form.is_valid():
        return _page(request, writeback_form=form, status=400)
    # The LinkedIn app's presence as last read (at connect, *Refresh from CRM*, daily).
    try:
        writeback_settings_update(
            contract=contract,
            values=form.cleaned_data,
            solution_installed=crm_choices_get(connection=connection).solution_installed,
            by=request.user,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _page(request, writeback_form=form, status=400)
    messages.success(request, "Writeback settings saved.")
    return redirect("crm_settings:index")


@admin_required
@require_http_methods(["GET", "POST"])
def disconnect(request):
    """*Disconnect CRM Sync*, optionally with *Yes, clean up all previously imported CRM data*."""
    contract = request.contract
    connection = crm_connection_get(contract=contract)
    counts = imported_data_counts(contract=contract)
    form = DisconnectForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            purged = imported_data_purge(contract=contract) if form.cleaned_data["purge"] else None
            connection_disconnect(contract=contract, by=request.user, purged=purged)
        if purged is not None:
            removed = sum(purged.values())
            messages.success(
                request,
                f"Disconnected from Microsoft Dynamics and cleaned up {removed} imported records.",
            )
        else:
            messages.success(request, "Disconnected from Microsoft Dynamics. Imported data kept.")
        return redirect("crm_settings:index")
    return render(
        request,
        "crm_settings/disconnect.html",
        {"nav": "admin", "connection": connection, "counts": counts, "form": form},
    )
