# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which emulator dialects the suite's emulators speak (tests/emulator/ctcloud_emulator/dialects.py).

``CTCLOUD_EMULATOR_DIALECTS`` (comma-separated; e.g. ``CTCLOUD_EMULATOR_DIALECTS=legacy nox -s system``) narrows the
list; the first one is what a test not marked for several dialects gets.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytest

DIALECTS = tuple(name for name in os.environ.get("CTCLOUD_EMULATOR_DIALECTS", "dashboard,legacy").split(",") if name)


def across_dialects(name: str, values: Sequence[Any]) -> pytest.MarkDecorator:
    """Parametrize ``name`` over ``values``, each value with the next dialect in turn: every value and every dialect
    runs, in ``len(values)`` runs rather than every pair of them."""
    pairs = [(DIALECTS[index % len(DIALECTS)], value) for index, value in enumerate(values)]
    return pytest.mark.parametrize(("emulator_dialect", name), pairs, indirect=["emulator_dialect"])
