"""Every public name (mdstream.__all__) has a place in the API reference of the
docs site: a `::: path.Name` block, or a `::: module` block whose module
exports the name. (`make docs` then builds it strictly: each block resolves.)"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import mdstream

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


def documented_identifiers() -> set[str]:
    found = set()
    for page in REFERENCE.glob("*.md"):
        found |= set(re.findall(r"^:::\s*([\w.]+)", page.read_text(), flags=re.M))
    return found


def covered(name: str, identifiers: set[str]) -> bool:
    for ident in identifiers:
        if ident.rsplit(".", 1)[-1] == name:
            return True
        try:
            module = importlib.import_module(ident)
        except ImportError:
            continue
        if name in getattr(module, "__all__", ()):
            return True
    return False


def test_every_public_name_is_in_the_api_reference():
    identifiers = documented_identifiers()
    assert identifiers, f"no ::: blocks under {REFERENCE}"
    missing = [n for n in mdstream.__all__ if not covered(n, identifiers)]
    assert not missing, f"public names without an API reference entry: {missing}"


def test_the_check_can_fail():
    assert not covered("NoSuchName", documented_identifiers())


def test_reference_blocks_name_real_objects():
    for ident in documented_identifiers():
        module_name, _, attr = ident.rpartition(".")
        try:
            importlib.import_module(ident)
            continue
        except ImportError:
            pass
        module = importlib.import_module(module_name)
        assert hasattr(module, attr), f"{ident} does not exist"
