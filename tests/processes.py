"""Starting the portal's own commands (a worker, ``sync_now``...) as separate processes in tests.

Tests that kill a worker or run the real task cluster need the command in a process of its own,
on the test's database and pointed at the test's emulator, configured like production (no test
settings, no inherited ``DJANGO_*`` / ``Q_*`` variables).
"""

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The URL of the test database this process uses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def portal_env(crm, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a portal process on the test database and the ``crm`` emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "Q_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        PORTAL_ENCRYPTION_KEY=b",".join(settings.PORTAL_ENCRYPTION_KEYS).decode(),
        PORTAL_VAR_DIR=str(var_dir),
        DATABASE_URL=database_url(),
        DATABASE_CONN_MAX_AGE="0",
        DYNAMICS_AUTHORITY_HOST=crm.base_url,
        DYNAMICS_DEFAULT_TENANT=crm.tenant,
        DYNAMICS_CA_BUNDLE=crm.ca_cert,
        DYNAMICS_EXTRA_ALLOWED_HOSTS=urlsplit(crm.base_url).netloc,
        DYNAMICS_CLIENT_ID=crm.client_id,
        DYNAMICS_CLIENT_SECRET=crm.client_secret,
        DYNAMICS_BROWSER_URLS=(
            f"{crm.base_url}={crm.browser_url}" if crm.browser_url != crm.base_url else ""
        ),
    )
    env.update(extra)
    return env


def manage(
    args: list[str], env: dict[str, str], log_path: Path | None = None, *, group: bool = False
) -> subprocess.Popen:
    """``manage.py <args>`` in a process of its own; its output is appended to ``log_path``, or
    goes to a pipe. ``group=True`` starts a process group (a cluster whose children must stop
    with it)."""
    with contextlib.ExitStack() as stack:
        # The child keeps its own copy of the log's descriptor; ours closes on return.
        output = stack.enter_context(log_path.open("ab")) if log_path else subprocess.PIPE
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )
