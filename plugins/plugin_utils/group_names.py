# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Default group names: ``<prefix><kind>_<value>``, valid as Ansible group names as they are.

Ansible warns about (or rewrites) group names with characters outside
``[A-Za-z0-9_]`` or with a leading digit. These names never need either: the
value is folded to lower-case ASCII with underscores, and a value with nothing
usable left ("東京") falls back to the record's id for that value.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.hostnames import fold

_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)?$")
MAX_VALUE_LENGTH = 64


def check_prefix(prefix: Any, option: str = "group_prefix") -> str:
    if prefix is None:
        return ""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValueError(f"{option} must be empty or start with a letter or '_' and hold only letters, digits and '_', got {prefix!r}")
    return prefix


def group_value(value: Any) -> str:
    """``value`` folded for use in a group name: ``"Acme Facilities"`` -> ``"acme_facilities"``; ``""`` if nothing is left."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return fold(str(value), "_", MAX_VALUE_LENGTH)


class GroupNamer:
    """Builds and remembers ``<prefix><kind>_<value>`` names (a few distinct values across thousands of hosts)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._names: dict[tuple[str, Any, Any], str | None] = {}

    def name(self, kind: str, value: Any, fallback: Any = None) -> str | None:
        """The group for ``value`` (or ``fallback`` when ``value`` folds to nothing), or None when both are empty."""
        key = (kind, value, fallback)
        try:
            return self._names[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value from an odd record: no group for it
            return None
        folded = group_value(value) or group_value(fallback)
        result = f"{self.prefix}{kind}_{folded}" if folded else None
        self._names[key] = result
        return result

    def plain(self, name: str) -> str:
        """A fixed group such as ``<prefix>online``."""
        return f"{self.prefix}{name}"
