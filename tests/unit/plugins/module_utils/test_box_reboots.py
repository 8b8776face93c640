# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The box reboot as an engine action (BoxReboots on the ActionRunner): its words, fail_on_offline, check mode."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.box import BoxReboots, plan_reboots, reboot_summary
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import ActionRunner, PlanRefusedError
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.test_box import NOW, make_box


def boxes():
    return [make_box(1), make_box(2, state="offline"), make_box(3, location=None, mac="junk")]


def test_the_plan_is_plan_reboots_and_check_mode_predicts_the_state_after():
    runner = ActionRunner(BoxReboots(None, NOW, wait=False), check_mode=True)
    plan = runner.plan(boxes())
    assert plan.steps == plan_reboots(boxes(), NOW)
    runner.apply(plan)
    assert [s["state_after"] for s in plan.steps] == ["rebooting", "offline", "rebooting"]
    assert reboot_summary(plan) == {"boxes": plan.steps, "rebooted": ["ap-0001", "ap-0003"], "skipped_boxes": ["ap-0002"], "batches": 1}
    assert runner.message(plan) == "Would reboot 2 boxes in 1 batch; 1 skipped (check mode, nothing was sent)"


def test_the_diff_names_mac_location_and_state_and_the_skipped_reason():
    runner = ActionRunner(BoxReboots(None, NOW, wait=True), check_mode=True)
    diff = runner.diff(runner.plan(boxes(), batch_size=1))
    assert (diff["before_header"], diff["after_header"]) == ("CT boxes", "reboot plan")
    assert diff["after"].splitlines() == [
        "batch 1 of 2:",
        "  ap-0001 (MAC AA:BB:CC:00:00:01, location bath-spa-abc): reboot, then wait until it is back up",
        "batch 2 of 2:",
        "  ap-0003 (MAC junk, location none): reboot, then wait until it is back up",
        "skipped:",
        "  ap-0002 (offline): offline: a reboot would only happen at its next start, so none was sent",
    ]
    assert diff["before"].splitlines()[1] == "  ap-0001 (MAC AA:BB:CC:00:00:01, location bath-spa-abc): online"


@pytest.mark.parametrize("check_mode", [True, False])
def test_fail_on_offline_refuses_the_whole_plan_before_anything_is_sent(check_mode):
    runner = ActionRunner(BoxReboots(None, NOW, fail_on_offline=True), check_mode)  # no BoxResource: nothing may be sent
    plan = runner.plan(boxes())
    with pytest.raises(PlanRefusedError) as caught:
        runner.apply(plan)
    assert str(caught.value) == "fail_on_offline: ap-0002 (MAC AA:BB:CC:00:00:02, location bath-spa-abc) is offline; nothing was rebooted"
    assert caught.value.details == {"offline": ["ap-0002"]}
    assert reboot_summary(plan)["rebooted"] == (["ap-0001", "ap-0003"] if check_mode else [])
