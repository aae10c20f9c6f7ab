"""Build the project's wheel and check that it holds every Python module of the portal.

Run by .ci/run: ``python scripts/wheel_check.py``. Exits non-zero, listing what is missing, when
a package or module of the checkout (tests, benchmarks and scripts aside) is not in the wheel,
which is what an explicit, hand-kept package list in pyproject.toml used to cause.
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {"tests", "tests_contract", "bench", "scripts", "docs", "bin", "static", "templates"}


def _modules_in_checkout() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {path for path in listed if "/" in path and path.split("/", 1)[0] not in LEFT_OUT}


def main() -> int:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, str(ROOT)],
            check=True,
        )
        # setuptools leaves its staging folder in the checkout (ignored by git): tidy it.
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        (wheel,) = Path(out).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            in_wheel = set(archive.namelist())
    missing = sorted(_modules_in_checkout() - in_wheel)
    if missing:
        print(f"{wheel.name} lacks {len(missing)} modules of the checkout:", *missing, sep="\n  ")
        return 1
    print(f"{wheel.name}: all {len(_modules_in_checkout())} modules of the checkout are in it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
