# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an inventory plugin's real ``parse`` (config file, option types, cache plugin) without the plugin loader.

The plugin loader needs Ansible's collection finder, which plain ``pytest``
runs do not install. So the plugin's option definitions are registered with
ansible-core's config manager here, from the plugin's DOCUMENTATION merged with
its doc fragments exactly as ansible-doc merges them; everything after that is
ansible-core's own code.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible import constants as C
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader


def _fragment_options(name: str) -> dict[str, Any]:
    """Options of ``namespace.collection.fragment[.variable]`` or of an ansible-core ``fragment[.variable]``."""
    parts = name.split(".")
    if len(parts) >= 3:
        module = importlib.import_module(f"ansible_collections.{parts[0]}.{parts[1]}.plugins.doc_fragments.{parts[2]}")
        variable = parts[3] if len(parts) > 3 else "DOCUMENTATION"
    else:
        module = importlib.import_module(f"ansible.plugins.doc_fragments.{parts[0]}")
        variable = parts[1] if len(parts) > 1 else "DOCUMENTATION"
    return yaml.safe_load(getattr(module.ModuleDocFragment, variable.upper())).get("options", {})


def option_definitions(plugin_module: Any) -> dict[str, Any]:
    """The plugin's options after fragment merging (a plugin's partial entry extends the fragment's)."""
    doc = yaml.safe_load(plugin_module.DOCUMENTATION)
    options: dict[str, Any] = {}
    for fragment in doc.get("extends_documentation_fragment", []):
        for name, definition in _fragment_options(fragment).items():
            options[name] = copy.deepcopy(definition)
    for name, definition in doc["options"].items():
        options.setdefault(name, {}).update(definition)
    return options


class PluginRunner:
    """Parses config dicts with one plugin class into fresh InventoryData objects."""

    def __init__(self, plugin_module: Any, directory: Path, suffix: str) -> None:
        self.module = plugin_module
        self.directory = directory
        self.suffix = suffix
        self.name = plugin_module.InventoryModule.NAME
        C.config.initialize_plugin_configuration_definitions("inventory", self.name, option_definitions(plugin_module))

    def plugin(self) -> Any:
        plugin = self.module.InventoryModule()
        plugin._load_name = self.name
        plugin.ansible_name = self.name
        plugin._redirected_names = [self.name]
        return plugin

    def write(self, config: dict[str, Any], name: str = "inv") -> str:
        path = self.directory / f"{name}{self.suffix}"
        path.write_text(yaml.safe_dump(dict({"plugin": self.name}, **config)))
        return str(path)

    def parse(self, config: dict[str, Any], cache: bool = True, name: str = "inv") -> InventoryData:
        path = self.write(config, name)
        inventory = InventoryData()
        plugin = self.plugin()
        assert plugin.verify_file(path)
        plugin.parse(inventory, DataLoader(), path, cache=cache)
        if hasattr(plugin, "_cache"):
            plugin.update_cache_if_changed()  # what the inventory manager does after parse
        return inventory


def hostvars(inventory: InventoryData, host: str) -> dict[str, Any]:
    """A host's variables without the two every host gets from InventoryData."""
    return {k: v for k, v in inventory.get_host(host).vars.items() if k not in ("inventory_file", "inventory_dir")}


def group_members(inventory: InventoryData) -> dict[str, list[str]]:
    return {name: sorted(host.name for host in group.hosts) for name, group in inventory.groups.items() if group.hosts}


@pytest.fixture
def cache_dir(tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir()
    return str(directory)
