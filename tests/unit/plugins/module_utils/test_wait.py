# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""resource.wait_until: bounded polling with growing pauses, on a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import WaitTimeoutError, wait_until


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_the_first_result_that_is_done_with_doubling_pauses():
    clock = FakeClock()
    results = iter([1, 2, 3, 4, 5])
    assert wait_until(lambda: next(results), lambda n: n == 4, 60, "counting", clock.time, clock.sleep) == 4
    assert clock.sleeps == [0.2, 0.4, 0.8]


def test_pauses_stop_growing_at_five_seconds():
    clock = FakeClock()
    reads = []
    wait_until(lambda: reads.append(1) or len(reads), lambda n: n == 8, 600, "x", clock.time, clock.sleep)
    assert clock.sleeps == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_done_at_once_never_sleeps():
    clock = FakeClock()
    assert wait_until(lambda: "ready", bool, 0, "x", clock.time, clock.sleep) == "ready"
    assert clock.sleeps == []


def test_times_out_with_the_last_result_and_never_sleeps_past_the_deadline():
    clock = FakeClock()
    reads = []
    with pytest.raises(WaitTimeoutError) as caught:
        wait_until(lambda: reads.append(1) or {"completed": False, "n": len(reads)}, lambda b: b["completed"], 1, "generating codes",
                   clock.time, clock.sleep)
    assert str(caught.value) == "generating codes did not finish within 1 seconds"
    assert caught.value.details["last"] == {"completed": False, "n": len(reads)}
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert clock.sleeps == [0.2, 0.4, pytest.approx(0.4)]  # the last pause is cut to the deadline


def test_timeout_zero_reads_once():
    clock = FakeClock()
    reads = []
    with pytest.raises(WaitTimeoutError):
        wait_until(lambda: reads.append(1), lambda _: False, 0, "x", clock.time, clock.sleep)
    assert len(reads) == 1 and clock.sleeps == []
