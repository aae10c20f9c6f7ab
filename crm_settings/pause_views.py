"""CRM Settings' *Alerts and auto-pause* panel: *Resume sync*, *Resume writeback*, and how many
failures in a row pause them (``crm_settings.pausing``). Admin and Admin only seats, POST only.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from crm_settings.forms import PauseSettingsForm
from crm_settings.models import AutoPause
from crm_settings.pausing import (
    pause_problem,
    pause_resume,
    pause_settings_update,
    pauses_in_force,
)
from crm_settings.selectors import crm_settings_get
from seats.access import admin_required

_RESUMED = {
    AutoPause.Part.SYNC: "Sync resumed: a sync has started.",
    AutoPause.Part.WRITEBACK: "Writeback resumed: the items that waited are being delivered.",
}


def auto_pause_context(*, contract) -> dict:
    """What the panel shows: each paused part with the failure that paused it, and the form."""
    paused = [
        {"pause": pause, "problem": pause_problem(pause)}
        for pause in pauses_in_force(contract_id=contract.pk)
    ]
    limit = crm_settings_get(contract=contract).pause_after_failures
    return {
        "paused_parts": paused,
        "pause_form": PauseSettingsForm(initial={"pause_after_failures": limit}),
    }


def _resume(request, part: str):
    if pause_resume(contract=request.contract, part=part, by=request.user):
        messages.success(request, _RESUMED[part])
    else:
        messages.info(request, f"{AutoPause.Part(part).label} was not paused; nothing to resume.")
    return redirect("crm_settings:index")


@admin_required
@require_POST
def resume_sync(request):
    return _resume(request, AutoPause.Part.SYNC)


@admin_required
@require_POST
def resume_writeback(request):
    return _resume(request, AutoPause.Part.WRITEBACK)


@admin_required
@require_POST
def save_pause_settings(request):
    form = PauseSettingsForm(request.POST)
    if not form.is_valid():
        errors = " ".join(form.errors["pause_after_failures"])
        messages.error(request, f"Pause after this many failures in a row: {errors}")
        return redirect("crm_settings:index")
    value = form.cleaned_data["pause_after_failures"]
    changed = pause_settings_update(
        contract=request.contract, pause_after_failures=value, by=request.user
    )
    if changed:
        messages.success(request, f"Sync and writeback now pause after {value} failures in a row.")
    return redirect("crm_settings:index")
