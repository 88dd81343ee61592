"""The client can be installed alone: it imports the standard library, httpx and tqdm only.

The offline receipt check (receipts.py) also needs cryptography, for Ed25519.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import async_rest_client

PACKAGE = Path(async_rest_client.__file__).parent
ALLOWED = set(sys.stdlib_module_names) | {"httpx", "tqdm", "async_rest_client"}
ALSO_ALLOWED = {"receipts.py": {"cryptography"}}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_of_the_client_imports_django_or_the_server() -> None:
    outside = {
        path.name: imported_roots(path) - ALLOWED - ALSO_ALLOWED.get(path.name, set())
        for path in sorted(PACKAGE.glob("*.py"))
    }
    assert {name: roots for name, roots in outside.items() if roots} == {}
