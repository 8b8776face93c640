# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to ctcloud.cloud: no public API, may change in any release without notice (docs/architecture.md).
"""Fields of API records that hold secrets, masked wherever a record is shown.

A record read from the API travels far: a module's result reaches ``-v`` output,
callback plugins, AWX job events and registered variables; an inventory plugin's
records reach host variables and the inventory cache on disk. ``no_log`` cannot
help there (it masks option values, not what a module returns), so the secret
fields the contract names are masked at the two exits every record passes: a
module's ``exit_json``/``fail_json`` and an inventory plugin's records before they
are cached or turned into hosts.

A masked field keeps ``null`` (or an empty string) as it is, so whether a
secret is set stays visible; any other value becomes ``REDACTED``.
"""

from __future__ import annotations

from typing import Any, Iterable

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import REDACTED

# Per cloud, the record fields docs/api-contract.md ("Secret fields") marks secret: CT's location `meraki_secret`
# (the shared secret of the location's Meraki access points); none of cThings'. Matched at any depth of a
# record, whatever resource it came from. A cloud without secret fields costs its results no walk at all.
SECRET_FIELDS = {
    "ct": frozenset(("meraki_secret",)),
    "cthings": frozenset(),
}
ALL_SECRET_FIELDS = frozenset().union(*SECRET_FIELDS.values())


def mask_secret_fields(data: Any, fields: Iterable[str] = ALL_SECRET_FIELDS) -> Any:
    """``data`` with the value of every ``fields`` key, at any depth, replaced by REDACTED; a copy where anything changes."""
    names = fields if isinstance(fields, frozenset) else frozenset(fields)
    return _masked(data, names) if names else data


def mentions_secret_field(json_text: str, fields: Iterable[str] = ALL_SECRET_FIELDS) -> bool:
    """Whether a JSON text may hold one of ``fields`` as a key: a substring test, much cheaper than walking the parsed data."""
    return any(f'"{name}"' in json_text for name in fields)


def _masked(data: Any, names: frozenset[str]) -> Any:
    if isinstance(data, dict):
        masked = None
        for key, value in data.items():
            if key in names and value not in (None, "", REDACTED):
                replacement: Any = REDACTED
            elif isinstance(value, (dict, list)):
                replacement = _masked(value, names)
            else:
                continue
            if replacement is not value:
                if masked is None:
                    masked = dict(data)
                masked[key] = replacement
        return data if masked is None else masked
    if isinstance(data, list):
        items = [_masked(item, names) for item in data]
        return data if all(new is old for new, old in zip(items, data)) else items
    return data
