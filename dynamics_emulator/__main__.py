"""Command line: `python -m dynamics_emulator serve|seed ...` (see README.md).

`serve` prints ONE line of JSON on stdout once it listens (the "ready line") and flushes it;
tests and scripts read it to learn the ports, tenant, CA file and demo credentials. Everything
else goes to stderr. SIGTERM and SIGINT stop it cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import demodata

from . import protection as service_protection
from .app import Emulator, seed_store
from .faults import validate as validate_faults
from .server import EmulatorServer, ensure_certificate, tls_context
from .store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dynamics_emulator",
                                     description="A local Dynamics 365 / Dataverse org.")
    commands = parser.add_subparsers(dest="command", required=True)

    def org_options(command):
        command.add_argument("--data", required=True, help="SQLite file holding the org")
        command.add_argument("--size", choices=sorted(demodata.SIZES),
                             help="size of the org to seed when the file is empty")
        command.add_argument("--seed", choices=sorted(demodata.SIZES), dest="seed_size",
                             help="same as --size (e.g. --seed demo)")
        command.add_argument("--seed-number", type=int, default=42,
                             help="random seed of the generated org (default 42)")

    serve = commands.add_parser("serve", help="serve an org (seeding it first if needed)")
    org_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None,
                       help="0 picks a free port (default 8443 with --https, else 8080)")
    serve.add_argument("--https", action="store_true", help="serve TLS (needed by msal)")
    serve.add_argument("--browser-port", type=int, default=None,
                       help="also serve the sign-in pages over plain http on this port")
    serve.add_argument("--service-protection", default=None, metavar="JSON",
                       help='service protection limits, e.g. \'{"requests": 10, "window": 60}\' '
                            "(default: Dataverse's, or $"
                            f"{service_protection.ENVIRONMENT_VARIABLE}); "
                            '\'{"enabled": false}\' turns it off')
    serve.add_argument("--rate-limit", default=None, metavar="N/SECONDS",
                       help="shorthand for the request limit, e.g. 6000/300")
    serve.add_argument("--faults", default=None, metavar="JSON",
                       help='faults to start with, e.g. \'{"error_rate": 0.2}\'')
    serve.add_argument("--fault-seed", default="0", help="seed of the fault random (default 0)")
    serve.add_argument("--token-lifetime", type=int, default=3600,
                       help="access token lifetime in seconds (default 3600)")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")

    seed = commands.add_parser("seed", help="build an org data file, then exit")
    org_options(seed)
    seed.add_argument("--force", action="store_true", help="replace an org already in the file")
    return parser


def _size(args) -> str | None:
    if args.size and args.seed_size and args.size != args.seed_size:
        raise SystemExit("--size and --seed disagree; give one of them")
    return args.size or args.seed_size


def _protection_settings(args) -> dict:
    """Service protection from the environment, then --service-protection, then --rate-limit."""
    settings: dict = {}
    sources = [(f"${service_protection.ENVIRONMENT_VARIABLE}",
                os.environ.get(service_protection.ENVIRONMENT_VARIABLE)),
               ("--service-protection", args.service_protection)]
    for name, text in sources:
        if not text:
            continue
        try:
            settings |= service_protection.validate(json.loads(text))
        except ValueError as error:  # JSONDecodeError is a ValueError
            raise SystemExit(f"{name}: {error}") from error
    if args.rate_limit:
        try:
            settings |= service_protection.parse_rate_limit(args.rate_limit)
        except ValueError as error:
            raise SystemExit(str(error)) from error
    return settings


def seed_command(args) -> int:
    Path(args.data).parent.mkdir(parents=True, exist_ok=True)
    store = Store(args.data)
    size = _size(args) or "demo"
    if store.is_seeded() and not args.force:
        info = store.get_meta("org")
        print(json.dumps({"seeded": False, "reason": "already seeded", "size": info["size"],
                          "seed": info["seed"], "rows": info.get("rows")}), flush=True)
        return 0
    if store.is_seeded():
        store.clear_org()
    info = seed_store(store, size, args.seed_number)
    print(json.dumps({"seeded": True, "size": size, "seed": args.seed_number,
                      "rows": info["rows"], "seconds": info["seconds"],
                      "data": str(Path(args.data).resolve())}), flush=True)
    return 0


def serve_command(args) -> int:
    faults = None
    if args.faults:
        try:
            faults = json.loads(args.faults)
            validate_faults(faults)
        except ValueError as error:
            raise SystemExit(f"--faults: {error}") from error
    protection = _protection_settings(args)
    fault_seed: int | str = int(args.fault_seed) if args.fault_seed.isdigit() else args.fault_seed
    Path(args.data).parent.mkdir(parents=True, exist_ok=True)

    tls = None
    cert_path = None
    if args.https:
        cert_path, key_path = ensure_certificate(args.data)
        tls = tls_context(cert_path, key_path)
    port = args.port if args.port is not None else (8443 if args.https else 8080)

    # The browser listener binds first so that discovery can advertise its real port.
    browser_server = None
    browser_url = None
    emulator_holder: dict = {}

    class _Late:
        """Lets the listeners exist before the Emulator (which needs the browser URL)."""

        def handle(self, request, listener):
            return emulator_holder["emulator"].handle(request, listener)

    late = _Late()
    if args.browser_port is not None:
        browser_server = EmulatorServer((args.host, args.browser_port), late, listener="browser",
                                        verbose=args.verbose)
        browser_url = browser_server.url
    main_server = EmulatorServer((args.host, port), late, listener="main", tls=tls,
                                 verbose=args.verbose)
    emulator = Emulator(data_path=args.data, size=_size(args), seed=args.seed_number,
                        token_lifetime=args.token_lifetime, protection=protection,
                        faults=faults, fault_seed=fault_seed, browser_url=browser_url)
    emulator_holder["emulator"] = emulator

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    servers = [s for s in (main_server, browser_server) if s is not None]
    for server in servers:
        server.serve_in_thread()

    base_url = main_server.url
    org = emulator.org
    print(json.dumps({
        "ready": True,
        "base_url": base_url,
        "browser_url": browser_url or base_url,
        "tenant": org["tenant_id"],
        "ca_cert": str(cert_path) if cert_path else None,
        "client_id": org["client_id"],
        "client_secret": org["client_secret"],
        "control_url": f"{base_url}/_emulator",
        "api_url": f"{base_url}/api/data/v9.2/",
        "authority": f"{base_url}/{org['tenant_id']}",
        "org_name": org["org_name"],
        "size": org["size"],
        "seed": org["seed"],
        "data": str(Path(args.data).resolve()),
        "pid": os.getpid(),
    }), flush=True)

    while not stop.wait(0.1):
        pass
    print("stopping", file=sys.stderr, flush=True)
    started = time.monotonic()
    for server in servers:
        server.shutdown()
        server.server_close()
    print(f"stopped in {time.monotonic() - started:.2f} s", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "seed":
        return seed_command(args)
    return serve_command(args)


if __name__ == "__main__":
    sys.exit(main())
