# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory host names: an ordered preference of record fields, made safe and unique.

Safe: lower-case ASCII letters, digits and single hyphens, at most 63 characters
(a DNS label). Such a name needs no quoting in a host pattern (``--limit``),
never contains the pattern characters ``, : ! & * ~ [ ]`` or spaces, and never
equals one of the collection's default group names, which always hold an underscore.

Unique: a name that several records share, or that Ansible reserves (``all``,
``localhost`` ...), gets the start of each record's id appended, on *every*
record that shares it. So the result does not depend on the order the API
returned the records in, and a reader sees at once that the name is ambiguous.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable, Iterable, Sequence

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.record_fields import dotted

MAX_LENGTH = 63
# Names Ansible gives a meaning of its own (groups every inventory has, the implicit localhost).
RESERVED_HOSTNAMES = frozenset(("all", "ungrouped", "localhost"))
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_UNSAFE = re.compile(r"[^a-z0-9]+")


def check_preferences(preferences: Any, option: str = "hostnames") -> list[str]:
    """The ``hostnames`` option as a list of dotted paths; ValueError names what is wrong."""
    if isinstance(preferences, str):
        preferences = [preferences]
    if not isinstance(preferences, list) or not preferences:
        raise ValueError(f"{option} must be a non-empty list of record fields such as 'name' or 'node.serial'")
    for entry in preferences:
        if not isinstance(entry, str) or not _PATH.match(entry):
            raise ValueError(f"{option} entries are record fields such as 'name' or 'node.serial' (dotted paths), got {entry!r}")
    return list(preferences)


def fold(text: str, separator: str, max_length: int) -> str:
    """``text`` as lower-case ASCII letters and digits, each run of anything else one ``separator``, at most ``max_length`` long."""
    if not text.isascii():
        # "Café" -> "Cafe"; characters without an ASCII decomposition ("東京", emoji) disappear.
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _UNSAFE.sub(separator, text.lower()).strip(separator)[:max_length].rstrip(separator)


def safe_hostname(value: Any) -> str:
    """``value`` as a safe host name, or ``""`` when nothing usable is left (no ASCII letters or digits)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return fold(str(value), "-", MAX_LENGTH)


def short_id(record_id: str) -> str:
    """The first block of a UUID, or a whole short id: enough to tell records with one name apart."""
    safe = safe_hostname(record_id)
    return safe.split("-", 1)[0] if len(safe) > 12 else safe


def assign_hostnames(
    records: Sequence[dict[str, Any]],
    preferences: Iterable[str],
    record_id: Callable[[dict[str, Any]], Any],
) -> list[str]:
    """One safe, unique host name per record, in the records' order.

    Each record takes the first preferred field that gives a safe name, else its id.
    ``record_id(record)`` must be unique per record (the API's id).
    """
    getters = [dotted(expression) for expression in preferences]

    def safe_id(record: dict[str, Any]) -> str:
        # Only for a record with no usable preferred field, or whose name collides: most never need it.
        return safe_hostname(record_id(record))

    candidates = []
    for record in records:
        name = ""
        for get in getters:
            name = safe_hostname(get(record))
            if name:
                break
        candidates.append(name or safe_id(record) or "host")
    counts: dict[str, int] = {}
    for name in candidates:
        counts[name] = counts.get(name, 0) + 1
    names = []
    taken = {name for name, count in counts.items() if count == 1 and name not in RESERVED_HOSTNAMES}
    for record, name in zip(records, candidates):
        if counts[name] == 1 and name not in RESERVED_HOSTNAMES:
            names.append(name)
            continue
        names.append(_disambiguate(name, safe_id(record), taken))
    return names


def _disambiguate(name: str, rid: str, taken: set[str]) -> str:
    short = short_id(rid) if rid else ""
    attempts = [_join(name, short)] if short else []
    if rid and rid != short:
        attempts.append(_join(name, rid))
    for attempt in attempts:
        if attempt not in taken:
            taken.add(attempt)
            return attempt
    # Only reachable with duplicate or missing ids: count up.
    base = attempts[-1] if attempts else name
    number = 2
    while _join(base, str(number)) in taken:
        number += 1
    result = _join(base, str(number))
    taken.add(result)
    return result


def _join(name: str, suffix: str) -> str:
    """``name-suffix``, shortening ``name`` so the whole stays within MAX_LENGTH."""
    room = MAX_LENGTH - len(suffix) - 1
    head = name[:room].rstrip("-") if room > 0 else ""
    return f"{head}-{suffix}" if head else suffix
