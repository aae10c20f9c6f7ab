"""The layering of DESIGN §3 is a checked contract (``[tool.importlinter]`` in pyproject.toml),
not a hope: the tree keeps it, and an upward import added anywhere breaks it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = [
    "config", "portal", "overview", "reports", "common", "seats", "crm_settings", "network",
    "sync", "writeback", "inbox", "alerts", "exports", "dynamics", "dynamics_emulator", "demodata",
]  # fmt: skip

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_of_the_tree(tmp_path: Path) -> Path:
    """The project's packages (Python files only) and its pyproject.toml, in ``tmp_path``."""
    for package in PACKAGES:
        if (ROOT / package).is_dir():
            shutil.copytree(
                ROOT / package,
                tmp_path / package,
                ignore=shutil.ignore_patterns("__pycache__", "*.html", "*.txt", "*.json"),
            )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_the_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_an_upward_import_breaks_the_layers(tmp_path):
    tree = _copy_of_the_tree(tmp_path)
    models = tree / "seats" / "models.py"
    models.write_text(models.read_text() + "\nfrom sync.models import CrmUser  # noqa\n")

    result = _lint(tree)

    assert result.returncode != 0
    assert "seats is not allowed to import sync" in result.stdout
    assert "seats.models -> sync.models" in result.stdout
