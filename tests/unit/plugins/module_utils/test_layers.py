# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils' folders are its layers, and imports only point down (docs/architecture.md).

``_resources`` (adapters) -> ``_state`` (engine, runner) -> ``_api`` (clients, tokens, HTTP); the
state layer knows no vendor (neither client), and ``module_base`` glues ``_api`` to the modules.
Read as source (ast), so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COLLECTION = Path(__file__).resolve().parents[4]
MODULE_UTILS = COLLECTION / "plugins" / "module_utils"
ARCHITECTURE = COLLECTION / "docs" / "architecture.md"
PREFIX = "ansible_collections.ctcloud.cloud.plugins.module_utils"
LAYERS = ("_api", "_state", "_resources")
# What each layer may import from module_utils: itself and the layers below it.
ALLOWED = {"_api": {"_api"}, "_state": {"_state", "_api"}, "_resources": {"_resources", "_state", "_api"}}
VENDORS = {"ct", "cthings"}  # the two clients: the state layer names neither
# Named in docs/architecture.md as pointing the wrong way, until it is fixed: remove it here then.
# (_state/resource.py no longer imports _api.ct: the adapters supply the field errors.)
KNOWN_WRONG_WAY: set[str] = set()


def collection_imports(path: Path) -> list[str]:
    """The dotted module_utils modules a file imports (``from X import y`` counts X.y when y is a module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            rest = node.module[len(PREFIX):].lstrip(".")
            if rest in ("", *LAYERS):  # from ...module_utils._api import validation
                found += [".".join(filter(None, (rest, alias.name))) for alias in node.names]
            else:
                found.append(rest)
        elif isinstance(node, ast.Import):
            found += [alias.name[len(PREFIX):].lstrip(".") for alias in node.names if alias.name.startswith(PREFIX + ".")]
    return found


def files_of(layer: str) -> list[Path]:
    return sorted(path for path in (MODULE_UTILS / layer).glob("*.py") if path.name != "__init__.py")


def test_module_utils_is_the_three_layers_and_the_module_base():
    assert sorted(path.name for path in MODULE_UTILS.iterdir() if not path.name.startswith((".", "__"))) == \
        ["_api", "_resources", "_state", "module_base.py"]
    for layer in LAYERS:
        assert files_of(layer), layer
        assert (MODULE_UTILS / layer / "__init__.py").read_text(encoding="utf-8") == ""


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_only_point_down(layer):
    wrong = []
    for path in files_of(layer):
        for module in collection_imports(path):
            target = module.split(".")[0]
            if target not in ALLOWED[layer]:
                wrong.append(f"{layer}/{path.name} imports {module}")
            elif layer == "_state" and module.split(".")[-1] in VENDORS:
                wrong.append(f"{layer}/{path.name} imports the vendor client {module}")
    assert sorted(set(wrong) - KNOWN_WRONG_WAY) == [], "imports that point up or name a vendor:\n" + "\n".join(wrong)


def test_every_file_of_every_layer_is_in_the_architecture_page():
    if not ARCHITECTURE.exists():
        pytest.skip("docs/ is not part of this copy of the collection")
    page = ARCHITECTURE.read_text(encoding="utf-8")
    missing = [f"{layer}/{path.name}" for layer in LAYERS for path in files_of(layer) if path.name not in page]
    assert missing == [], f"docs/architecture.md does not name {missing}"
    for layer in LAYERS:
        assert f"{layer}/" in page, layer
