# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: write each task's wall time to the JSON file named by $BENCH_TIMINGS_FILE.

Used by tests/benchmark/run.py only; not part of the collection. A task's time runs
from its start to the start of the next task (or the end of the play), which is
what a user waits for, loops included.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Task wall times for tests/benchmark/run.py
description:
  - Writes each task's name and seconds, and the play's seconds, as JSON to the file named by E(BENCH_TIMINGS_FILE).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []
        self._current = None
        self._play_start = None

    def _close_current(self, now):
        if self._current is not None:
            name, start = self._current
            self._tasks.append({"name": name, "seconds": now - start})
            self._current = None

    def v2_playbook_on_play_start(self, play):
        now = time.perf_counter()
        self._close_current(now)
        if self._play_start is None:
            self._play_start = now

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.perf_counter()
        self._close_current(now)
        self._current = (task.get_name(), now)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        now = time.perf_counter()
        self._close_current(now)
        path = os.environ.get("BENCH_TIMINGS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as stream:
                json.dump({"tasks": self._tasks, "play_seconds": now - (self._play_start or now)}, stream)
