# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of ``ansible-inventory --list`` output for the inventory integration targets.

``summary LIST.json``
    One line of JSON about the inventory (host count, unsafe host names, group
    sizes, host variable names), small enough for a playbook to register.
``golden LIST.json GOLDEN.json [--regenerate]``
    Compare the inventory with a golden file exactly, after normalization
    (ansible-core 2.19 wraps untrusted strings as ``{"__ansible_unsafe": ...}``
    and names its JSON profile in ``_meta``; older versions do neither; a local host's
    ``ansible_python_interpreter``, an executable of this machine, reads as a placeholder).
    Exit 1 with a unified diff on any difference.
    ``--regenerate`` writes GOLDEN.json instead: the only way it changes.
``devices STATE.json``
    How many devices the emulator's state dump holds, and how many are not test devices.
``regenerate PLUGIN_CONFIG GOLDEN.json``
    Run ``ansible-inventory -i PLUGIN_CONFIG --list`` (credentials from the
    environment, as ``nox -s emulator`` prints them) and write GOLDEN.json.
    The emulator must hold its default seed data.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from typing import Any

SAFE_HOSTNAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return normalize(value["__ansible_unsafe"])
        return {key: normalize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


CONTROLLER_PYTHON = "<the Python running Ansible>"


def controller_python(value: Any) -> Any:
    """The plugins set a local host's interpreter to the Python running Ansible: a path of this machine, not golden."""
    if isinstance(value, str) and os.path.isabs(value) and os.access(value, os.X_OK):
        return CONTROLLER_PYTHON
    return value


def load(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        data = normalize(json.load(handle))
    if isinstance(data, dict) and isinstance(data.get("_meta"), dict):
        data["_meta"].pop("profile", None)  # the JSON profile name ansible-core 2.19 adds
        for variables in data["_meta"].get("hostvars", {}).values():
            if "ansible_python_interpreter" in variables:
                variables["ansible_python_interpreter"] = controller_python(variables["ansible_python_interpreter"])
    return data


def dump(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def summary(path: str) -> dict[str, Any]:
    data = load(path)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    groups = {name: len(group.get("hosts", [])) for name, group in data.items() if name != "_meta" and isinstance(group, dict)}
    names: set[str] = set()
    for variables in hostvars.values():
        names.update(variables)
    ids = [variables.get("cthings_id", variables.get("ct_box_id")) for variables in hostvars.values()]
    return {
        "hosts": len(hostvars),
        "unsafe_hostnames": sorted(name for name in hostvars if not SAFE_HOSTNAME.match(name) or len(name) > 63)[:5],
        "groups": groups,
        "hostvar_names": sorted(names),
        "distinct_ids": len(set(ids)),
        "connections": sorted({str(variables.get("ansible_connection")) for variables in hostvars.values()}),
        "with_ansible_host": sum(1 for variables in hostvars.values() if "ansible_host" in variables),
        "sample": {name: hostvars[name] for name in sorted(hostvars)[:1]},
    }


def golden(path: str, golden_path: str, regenerate: bool) -> int:
    actual = dump(load(path))
    if regenerate:
        with open(golden_path, "w", encoding="utf-8") as handle:
            handle.write(actual)
        print(f"wrote {golden_path}")
        return 0
    with open(golden_path, encoding="utf-8") as handle:
        expected = handle.read()
    if actual == expected:
        print("golden file matches")
        return 0
    diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), golden_path, path, n=2)
    sys.stdout.writelines(list(diff)[:200])
    print(f"\n{path} differs from {golden_path}; if the change is intended, regenerate it (see the docstring of {__file__})")
    return 1


def regenerate(config: str, golden_path: str) -> int:
    environment = dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    output = subprocess.run(["ansible-inventory", "-i", config, "--list"], check=True, capture_output=True, text=True, env=environment).stdout
    listing = golden_path + ".list.tmp"
    with open(listing, "w", encoding="utf-8") as handle:
        handle.write(output)
    try:
        return golden(listing, golden_path, True)
    finally:
        os.unlink(listing)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "summary":
        print(json.dumps(summary(argv[1])))
        return 0
    if len(argv) == 2 and argv[0] == "devices":
        with open(argv[1], encoding="utf-8") as handle:
            devices = json.load(handle)["devices"]
        print(json.dumps({"devices": len(devices), "non_test": sum(1 for device in devices if not device.get("isTest"))}))
        return 0
    if len(argv) in (3, 4) and argv[0] == "golden":
        return golden(argv[1], argv[2], argv[3:] == ["--regenerate"])
    if len(argv) == 3 and argv[0] == "regenerate":
        return regenerate(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
