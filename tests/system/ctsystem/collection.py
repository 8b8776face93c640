# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where things are: the collection ansible-playbook will load, the emulator, and which plugins exist yet.

The collection is the one ``ANSIBLE_COLLECTIONS_PATH`` names (the nox sessions point it
at a copy under ``.build/collections``), because that is what the ansible-playbook
subprocesses load. The emulator is found relative to this file: it is test code,
not part of the installed collection.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DIR = Path(__file__).resolve().parent.parent
REPO = SYSTEM_DIR.parent.parent
RUN_EMULATOR = REPO / "tests" / "emulator" / "run_emulator.py"
PLAYBOOKS = SYSTEM_DIR / "playbooks"
CALLBACK_PLUGINS = SYSTEM_DIR / "callback_plugins"
# pretend_remote: a connection that is not ``local``, so the modules take the remote path (without SSH).
CONNECTION_PLUGINS = SYSTEM_DIR / "connection_plugins"
NAMESPACE, NAME = "ctcloud", "cloud"


def collections_paths() -> list[str]:
    raw = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS") or ""
    return [entry for entry in raw.split(os.pathsep) if entry]


def collection_root() -> Path | None:
    """The ctcloud.cloud that ansible-playbook will load, or None when ANSIBLE_COLLECTIONS_PATH does not lead to one."""
    for entry in collections_paths():
        base = Path(entry).expanduser()
        for candidate in (base / "ansible_collections" / NAMESPACE / NAME, base / NAMESPACE / NAME):
            if (candidate / "galaxy.yml").is_file():
                return candidate
    return None


def has_plugin(kind: str, name: str) -> bool:
    """Whether plugins/<kind>/<name>.py exists in the collection under test."""
    root = collection_root()
    return root is not None and (root / "plugins" / kind / f"{name}.py").is_file()


def has_module(name: str) -> bool:
    return has_plugin("modules", name)


# Every module issues 3 and 4 promise; the tests cover each one that exists.
CT_MODULES = ("ct_location", "ct_locations", "ct_location_info", "ct_voucher", "ct_voucher_info", "ct_box_reboot", "ct_box_info", "ct_auth")
CTHINGS_MODULES = ("cthings_device_info",)
ALL_MODULES = CT_MODULES + CTHINGS_MODULES
INVENTORY_PLUGINS = ("cthings", "ct_boxes")


def present_modules() -> dict[str, bool]:
    """``{module: exists}`` for every promised module, as extra vars for the scenario playbooks."""
    return {name: has_module(name) for name in ALL_MODULES}


def unpromised_modules() -> list[str]:
    """Modules in the collection that this suite does not know about (a reminder to cover them)."""
    root = collection_root()
    if root is None:
        return []
    found = {path.stem for path in (root / "plugins" / "modules").glob("*.py") if path.stem != "__init__"}
    return sorted(found - set(ALL_MODULES))
