"""Run the whole product locally: the Dynamics emulator, the portal and its task worker.

Called by ``bin/demo`` after it has installed everything into ``.venv``. Steps:

1. start the Dynamics emulator (its own SQLite file, the seeded demo org, HTTPS with a
   self-signed certificate) and read its ready line;
2. point the portal at it through environment variables (allowed host, CA bundle, sign-in
   authority, the demo app registration);
3. migrate, install the schedules, seed the demo contracts, seats and network;
4. start the web server (gunicorn) and the django-q2 worker (``qcluster``);
5. print the URL and the demo logins, and wait; Ctrl-C stops everything this script started.
"""

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _banner(url: str, emulator: dict | None, env: dict) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from portal.demo import DEMO_PASSWORD, demo_logins

    lines = ["", "=" * 72, f"  CRM Sync portal:  {url}"]
    lines += [f"  Demo password for everyone:  {DEMO_PASSWORD}"]
    lines += [f"    {email:<32} {what}" for email, what in demo_logins()]
    if emulator:
        lines += [
            f"  Dynamics emulator: {emulator['base_url']}  (environment URL to connect to)",
            f"  Emulator sign-in:  {emulator.get('browser_url') or emulator['base_url']}",
        ]
    lines += ["  Press Ctrl-C to stop everything.", "=" * 72, ""]
    print("\n".join(lines), flush=True)


def _start_emulator(var: Path, port: int, browser_port: int) -> tuple[subprocess.Popen, dict]:
    command = [
        PYTHON, "-m", "dynamics_emulator", "serve",
        "--data", str(var / "emulator-demo.sqlite3"), "--seed", "demo",
        "--port", str(port), "--https", "--browser-port", str(browser_port),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        raise SystemExit("The Dynamics emulator did not start; see the messages above.")
    ready = json.loads(line)
    return process, ready


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORTAL_PORT", 8000)))
    parser.add_argument("--emulator-port", type=int, default=8443)
    parser.add_argument("--emulator-browser-port", type=int, default=8444)
    args = parser.parse_args()

    var = Path(os.environ.get("PORTAL_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("PORTAL_VAR_DIR", str(var))
    processes: list[subprocess.Popen] = []
    # Ctrl-C and SIGTERM unwind through the finally below, which stops every child. SIGINT gets
    # a handler too: a shell starting us in the background would otherwise have us ignore it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        _run(args, env, var, processes)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _run(args, env: dict, var: Path, processes: list[subprocess.Popen]) -> None:
    emulator = None
    if importlib.util.find_spec("dynamics_emulator.__main__") is not None:
        process, emulator = _start_emulator(var, args.emulator_port, args.emulator_browser_port)
        processes.append(process)
        env.update(
            DYNAMICS_EXTRA_ALLOWED_HOSTS=f"127.0.0.1:{args.emulator_port}",
            DYNAMICS_CA_BUNDLE=emulator["ca_cert"],
            DYNAMICS_AUTHORITY_HOST=emulator["base_url"],
            DYNAMICS_DEFAULT_TENANT=emulator["tenant"],
            DYNAMICS_CLIENT_ID=emulator["client_id"],
            DYNAMICS_CLIENT_SECRET=emulator["client_secret"],
            # Links to a record (*In CRM*, *Open in Dynamics*, *View the activity in your CRM*)
            # open on the emulator's plain-http port: its https one has a self-signed
            # certificate that a browser refuses.
            DYNAMICS_BROWSER_URLS=f"{emulator['base_url']}={emulator['browser_url']}",
        )

    manage = [PYTHON, "manage.py"]
    steps = (
        ["migrate", "--no-input", "-v", "0"],
        ["setup_schedules"],
        ["seed_demo", "--quiet-logins"],
    )
    for step in steps:
        subprocess.run(manage + step, cwd=ROOT, env=env, check=True)

    url = f"http://127.0.0.1:{args.port}"
    gunicorn = [PYTHON, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}"]
    gunicorn += ["--workers", "2", "--threads", "4", "--no-control-socket"]
    processes.append(subprocess.Popen(gunicorn, cwd=ROOT, env=env))
    processes.append(subprocess.Popen(manage + ["qcluster"], cwd=ROOT, env=env))
    _wait_for(f"{url}/healthz")
    _banner(url, emulator, env)
    while all(p.poll() is None for p in processes):
        time.sleep(0.5)
    print("A process stopped unexpectedly; stopping the rest.", file=sys.stderr)


if __name__ == "__main__":
    main()
