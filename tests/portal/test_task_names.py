"""Task names: each a constant next to its task, naming a real function, used instead of literals.

django-q2 runs a task from its dotted path (queued tasks and stored schedules keep the string), so
a name that no longer resolves fails only when a worker picks the task up. Every app's
``tasks.py`` declares its names as constants; everything that enqueues or schedules uses them.
"""

import importlib
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.utils.module_loading import import_string

from crm_settings.pausing import DRAIN_OUTBOX_TASK
from crm_settings.services import SYNC_RUN_TASK
from portal.schedules import SCHEDULES
from sync.tasks import SYNC_RUN
from writeback.tasks import DRAIN_OUTBOX

# "<app>.tasks.<function>" in quotes, as a literal task name is written.
_LITERAL = re.compile(r"""["']([a-z_]+\.tasks\.[a-z_]+)["']""")
# The places a name is spelt out besides its own tasks.py: crm_settings, below sync and writeback,
# names sync's import task and writeback's drain (*Resume writeback*) without importing them
# (DESIGN §3).
_SPELT_OUT_ELSEWHERE = {
    "crm_settings/services.py": {SYNC_RUN},
    "crm_settings/pausing.py": {DRAIN_OUTBOX},
}


def _our_apps():
    base = Path(settings.BASE_DIR)
    return [config for config in apps.get_app_configs() if Path(config.path).parent == base]


def _task_names() -> dict[str, str]:
    """Every task-name constant of our apps' ``tasks`` modules: ``module.CONSTANT`` -> name."""
    names = {}
    for config in _our_apps():
        if not (Path(config.path) / "tasks.py").exists():
            continue
        module = importlib.import_module(f"{config.name}.tasks")
        for attribute, value in vars(module).items():
            if attribute.isupper() and isinstance(value, str) and _LITERAL.fullmatch(f'"{value}"'):
                names[f"{module.__name__}.{attribute}"] = value
    return names


def test_every_app_with_tasks_names_them():
    with_tasks = {
        f"{config.name}.tasks"
        for config in _our_apps()
        if (Path(config.path) / "tasks.py").exists()
    }
    assert {"portal.tasks", "seats.tasks", "sync.tasks", "writeback.tasks"} <= with_tasks
    assert {constant.rsplit(".", 1)[0] for constant in _task_names()} == with_tasks


@pytest.mark.parametrize("constant, name", sorted(_task_names().items()))
def test_each_name_is_a_function_of_its_own_tasks_module(constant, name):
    task = import_string(name)
    assert callable(task)
    assert f"{task.__module__}.{task.__name__}" == name
    assert name.startswith(constant.rsplit(".", 1)[0] + ".")


def test_crm_settings_names_the_import_task_as_sync_does():
    assert SYNC_RUN_TASK == SYNC_RUN


def test_crm_settings_names_the_drain_task_as_writeback_does():
    assert DRAIN_OUTBOX_TASK == DRAIN_OUTBOX


def test_every_schedule_runs_a_named_task():
    names = set(_task_names().values())
    assert {spec.func for spec in SCHEDULES} <= names


def test_no_code_spells_out_a_task_name_outside_its_tasks_module():
    base = Path(settings.BASE_DIR)
    found = []
    for config in _our_apps():
        for path in Path(config.path).rglob("*.py"):
            relative = path.relative_to(base).as_posix()
            allowed = _SPELT_OUT_ELSEWHERE.get(relative, set())
            for name in _LITERAL.findall(path.read_text()):
                if relative != f"{config.name}/tasks.py" and name not in allowed:
                    found.append(f"{relative}: {name}")
    assert found == []
