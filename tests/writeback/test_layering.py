"""The inbox sits below the writeback: it imports none of it, but for the API's one window."""

import ast
from pathlib import Path

INBOX = Path(__file__).resolve().parents[2] / "inbox"
# The named exception (inbox/__init__.py): the API's delivery payload and Retry.
ALLOWED = {"inbox/api/delivery.py"}


def _imports_writeback(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "writeback":
            return True
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "writeback" for alias in node.names
        ):
            return True
    return False


def test_the_inbox_imports_the_writeback_only_in_the_apis_delivery_module():
    importing = {
        str(path.relative_to(INBOX.parent))
        for path in INBOX.rglob("*.py")
        if "migrations" not in path.parts and _imports_writeback(path)
    }
    assert importing == ALLOWED
