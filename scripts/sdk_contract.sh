#!/usr/bin/env bash
# Microsoft's Dataverse SDK for Python (PowerPlatform-Dataverse-Client), unmodified, against the
# emulator over HTTPS: tests_contract/ in its own virtualenv, so the SDK's dependencies (pandas,
# azure-identity, azure-core) stay out of the product.
#
#   scripts/sdk_contract.sh [pytest args]
#
# VENV (default .venv) is the project's virtualenv, whose interpreter runs the emulator; it is
# created from pyproject.toml when absent. SDK_VENV (default .venv-sdk) holds the SDK,
# azure-identity and pytest from tests_contract/requirements.txt.
#
# What the SDK exposes that the emulator does not serve (so not tested): SQL queries
# (query.sql, `?sql=`), FetchXML, upsert by alternate key (records.upsert; alternate keys are
# not emulated), BulkDelete (records.delete of a list with use_bulk_delete=True), schema writes
# (tables.create/add_columns/remove_columns/relationships/alternate keys) and file uploads.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
VENV=${VENV:-.venv}
SDK_VENV=${SDK_VENV:-.venv-sdk}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e .
fi
if [ ! -x "$SDK_VENV/bin/python" ]; then
  python3 -m venv "$SDK_VENV"
fi
"$SDK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r tests_contract/requirements.txt

export EMULATOR_PYTHON="$PWD/$VENV/bin/python"
"$SDK_VENV/bin/python" -m pytest -c tests_contract/pytest.ini tests_contract "$@"
echo "== SDK contract suite finished in $(( $(date +%s) - started )) s"
