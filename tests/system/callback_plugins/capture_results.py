# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes every task result, whole and unabridged, as one JSON line to ``$CTCLOUD_SYSTEM_RESULTS``.

The system tests read task results from this file instead of parsing the screen
output: the default callback shortens results (no ``exception``, no ``invocation``
below -vvv), and the tests must see exactly what a module returned.

With ``$CTCLOUD_SYSTEM_STATS_URL`` set (an emulator's ``/_admin/stats``), each line
also holds the emulator's counters as they were when the task's result arrived: the
linear strategy starts the next task only after this callback has run, so the
counters of consecutive lines tell exactly what each task sent.
"""

from __future__ import annotations

import json
import os
import urllib.request

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: capture_results
type: aggregate
short_description: Write every task result as a JSON line to $CTCLOUD_SYSTEM_RESULTS
description:
  - Test helper of the ctcloud.cloud system tests. Enabled with C(ANSIBLE_CALLBACKS_ENABLED=capture_results).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "capture_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get("CTCLOUD_SYSTEM_RESULTS")
        self._stats_url = os.environ.get("CTCLOUD_SYSTEM_STATS_URL")

    def _record(self, status, result):
        if not self._path:
            return
        # ansible-core 2.19 offers ``result`` (native types); older versions only ``_result``.
        data = getattr(result, "result", None)
        if data is None:
            data = result._result  # pylint: disable=protected-access
        # ``task`` and ``host`` are 2.19's names for the older ``_task`` and ``_host``.
        task = getattr(result, "task", None) or result._task  # pylint: disable=protected-access
        host = getattr(result, "host", None) or result._host  # pylint: disable=protected-access
        line = {
            "host": host.get_name(),
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "result": data,
        }
        if self._stats_url:
            with urllib.request.urlopen(self._stats_url, timeout=30) as response:  # a local test URL, never counted
                line["emulator_stats"] = json.loads(response.read().decode("utf-8"))
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, default=str, sort_keys=True) + "\n")

    def v2_runner_on_ok(self, result):
        self._record("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("failed", result)

    def v2_runner_on_skipped(self, result):
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._record("unreachable", result)
