import pytest

from sync.tasks import SYNC_RUN


@pytest.fixture(autouse=True)
def enqueued(monkeypatch):
    """Imports enqueued by Seat Management, recorded instead of run.

    The import's task (``sync.tasks.sync_run``) is owned by the sync app and would talk to the
    CRM; seat tests only check that it was asked for. Every other task (the invitations) runs, in
    django-q2's sync mode, when a test executes the on-commit callbacks.
    """
    from django_q import tasks

    run = tasks.async_task
    calls = []

    def async_task(func, *args, **kwargs):
        if func == SYNC_RUN:
            calls.append((func, *args))
            return None
        return run(func, *args, **kwargs)

    monkeypatch.setattr(tasks, "async_task", async_task)
    return calls
