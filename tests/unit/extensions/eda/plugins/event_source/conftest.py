# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event sources, loaded the way ansible-rulebook loads them: ``runpy.run_path`` of the file."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

COLLECTION = Path(__file__).resolve().parents[6]
SOURCES = COLLECTION / "extensions" / "eda" / "plugins" / "event_source"


def load_source(name: str) -> dict[str, Any]:
    """The module namespace of ``extensions/eda/plugins/event_source/<name>.py``, from ``runpy.run_path`` as in ansible-rulebook.

    ansible-test's collection loader answers for every path through a ``sys.path`` hook, which makes runpy take the
    file for a package directory; that hook is set aside while the file runs (ansible-rulebook has no such hook).
    """
    path = str(SOURCES / f"{name}.py")
    hooks = list(sys.path_hooks)
    sys.path_hooks[:] = [hook for hook in hooks if not getattr(hook, "__module__", "").startswith("ansible.")]
    sys.path_importer_cache.pop(path, None)
    try:
        return runpy.run_path(path)
    finally:
        sys.path_hooks[:] = hooks
        sys.path_importer_cache.pop(path, None)


def documented_options(namespace: dict[str, Any], fragments: dict[str, dict[str, Any]] | None = None) -> set[str]:
    """The options a source's DOCUMENTATION declares (its own and its fragments'), parsed as ansible-doc parses them."""
    documentation = yaml.safe_load(namespace["DOCUMENTATION"])
    yaml.safe_load(namespace["EXAMPLES"])  # must parse too: galaxy-importer and ansible-doc read both
    options = set(documentation["options"])
    for fragment in documentation.get("extends_documentation_fragment", []):
        options |= set((fragments or {})[fragment])
    return options


class LogRecorder(logging.Handler):
    """Every record of one logger, formatted: what an operator would see."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(record.getMessage())


@pytest.fixture
def source_log():
    """``source_log(logger name)`` -> a LogRecorder attached to that logger for the test."""
    attached: list[tuple[logging.Logger, LogRecorder, int]] = []

    def attach(name: str) -> LogRecorder:
        logger = logging.getLogger(name)
        recorder = LogRecorder()
        attached.append((logger, recorder, logger.level))
        logger.addHandler(recorder)
        logger.setLevel(logging.DEBUG)
        return recorder

    yield attach
    for logger, recorder, level in attached:
        logger.removeHandler(recorder)
        logger.setLevel(level)
