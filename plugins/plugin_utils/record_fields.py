# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading nested fields of API records defensively: a missing or non-dict step gives None."""

from __future__ import annotations

from typing import Any, Callable

Extractor = Callable[[dict[str, Any]], Any]


def path(*steps: str) -> Extractor:
    """An extractor for ``record[a][b]...`` (the common one- and two-step cases are unrolled: they run per host)."""
    if len(steps) == 1:
        key = steps[0]
        return lambda record: record.get(key)
    if len(steps) == 2:
        first, second = steps

        def get2(record: dict[str, Any]) -> Any:
            inner = record.get(first)
            return inner.get(second) if isinstance(inner, dict) else None

        return get2

    def get(record: dict[str, Any]) -> Any:
        value: Any = record
        for step in steps:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        return value

    return get


def dotted(expression: str) -> Extractor:
    """An extractor for ``"node.serial"``."""
    return path(*expression.split("."))
