# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host variables from API records: a table of fields, a prefix and suffix, an allow-list.

Every name is checked once, when the options are read, not once per host:
ansible-core warns once per host for every variable named like a play keyword
or a Jinja global (``name``, ``serial``, ``tags``, ...), which at 10,000 hosts
buries the output. A prefix or suffix that would produce such a name, or one
that is not a valid variable name, is a configuration error.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Iterable, Mapping

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.record_fields import Extractor

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reserved_names() -> frozenset[str]:
    """The variable names ansible-core reserves (and warns about), where this ansible-core can say."""
    try:
        from ansible.vars.reserved import get_reserved_names
    except ImportError:  # pragma: no cover - every supported ansible-core has it
        return frozenset()
    return frozenset(get_reserved_names())


class HostvarTable:
    """Which host variables to set and how to read each from a record.

    ``fields`` maps a base name (``type``) to a function reading it from a record;
    the variable is ``prefix + base + suffix`` (``cthings_type``). ``fixed`` variables
    (``ansible_connection``) and ``per_record`` ones (``ansible_host``) keep their names
    and are not subject to the allow-list.
    """

    def __init__(
        self,
        fields: Mapping[str, Extractor],
        prefix: str = "",
        suffix: str = "",
        allow: Iterable[str] | None = None,
        fixed: Mapping[str, Any] | None = None,
        per_record: Mapping[str, Extractor] | None = None,
        reserved: frozenset[str] | None = None,
    ) -> None:
        for option, value in (("hostvars_prefix", prefix), ("hostvars_suffix", suffix)):
            if not isinstance(value, str):
                raise ValueError(f"{option} must be a string, got {value!r}")
        if allow is None:
            chosen = list(fields)
        else:
            chosen = list(dict.fromkeys(allow))
            unknown = [name for name in chosen if name not in fields]
            if unknown:
                raise ValueError(
                    "hostvars lists unknown host variables {}; known are: {}".format(", ".join(map(repr, unknown)), ", ".join(sorted(fields)))
                )
        reserved = reserved_names() if reserved is None else reserved
        self.names: dict[str, str] = {}
        for base in chosen:
            final = f"{prefix}{base}{suffix}"
            if not _IDENTIFIER.match(final) or keyword.iskeyword(final):
                raise ValueError(f"hostvars_prefix/hostvars_suffix make {final!r}, which is not a valid variable name")
            if final in reserved:
                raise ValueError(
                    f"hostvars_prefix/hostvars_suffix make {final!r}, a name ansible-core reserves (it would warn once per host); "
                    "choose a prefix or suffix"
                )
            self.names[base] = final
        self.fixed = dict(fixed or {})
        self._per_record = tuple((per_record or {}).items())
        self._pairs = tuple((self.names[base], fields[base]) for base in chosen)

    def build(self, record: dict[str, Any]) -> dict[str, Any]:
        """The host variables of one record: the fixed ones, the unprefixed per-record ones (when not null), the table's."""
        hostvars = dict(self.fixed)
        for name, get in self._per_record:
            value = get(record)
            if value is not None:
                hostvars[name] = value
        for name, get in self._pairs:
            hostvars[name] = get(record)
        return hostvars
