# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plans (a reboot rather than a field value): planning, check mode, the diff and the message, with no vendor.

The adapter here is made up ("restart" of "pumps"), so that nothing in the engine or the runner may lean on boxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, CtCloudError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import SHAPE as LOCATION
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import SKIP, plan_actions
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import ActionResource, ActionRunner, PlanRefusedError, Resource

PUMPS = [
    {"name": "p1", "state": "running"},
    {"name": "p2", "state": "broken"},
    {"name": "p3", "state": "running"},
    {"name": "p4", "state": "running"},
]


class Pumps(ActionResource):
    action = "restart"
    done = "restarted"
    key = "name"
    noun = "pump"
    subject = "pumps"

    def __init__(self, refuse_broken: bool = False, fail_at: str | None = None) -> None:
        self.refuse_broken = refuse_broken
        self.fail_at = fail_at
        self.carried: list[list[str]] = []

    def skip_reason(self, obj: Mapping[str, Any]) -> str | None:
        return None if obj["state"] == "running" else f"it is {obj['state']}"

    def record(self, obj: Mapping[str, Any], decision: dict[str, Any]) -> dict[str, Any]:
        return {"name": obj["name"], **decision, "restarted": False, "state_before": obj["state"], "state_after": None}

    def refuse(self, plan) -> None:
        if self.refuse_broken and any(obj["state"] == "broken" for obj in plan.objects):
            raise PlanRefusedError("a pump is broken")

    def predicted(self, step: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"state_after": "running"}

    def carry_out(self, plan) -> None:
        for batch in plan.batches:
            self.carried.append([step["name"] for step in batch])
            for step in batch:
                if step["name"] == self.fail_at:
                    raise CtCloudError(f"{step['name']} did not restart")
                step["restarted"] = True

    def detail(self, step: Mapping[str, Any]) -> str:
        return f"pump {step['name'][1:]}"

    def state(self, step: Mapping[str, Any]) -> Any:
        return step["state_before"]

    def afterwards(self) -> str:
        return "all running"


def test_skipped_objects_get_no_batch_and_batches_count_only_the_acting_ones():
    plan = ActionRunner(Pumps()).plan(PUMPS, batch_size=2)
    assert [(s["name"], s["action"], s["batch"], s["reason"]) for s in plan.steps] == [
        ("p1", "restart", 1, None),
        ("p2", SKIP, None, "it is broken"),
        ("p3", "restart", 1, None),
        ("p4", "restart", 2, None),
    ]
    assert [[s["name"] for s in batch] for batch in plan.batches] == [["p1", "p3"], ["p4"]]
    assert plan.names(plan.skipped) == ["p2"]
    assert plan.objects == PUMPS and plan.objects[0] is not PUMPS[0]  # as read, not shared


def test_without_a_batch_size_every_object_is_in_one_batch_and_nothing_selected_plans_nothing():
    assert [s["batch"] for s in plan_actions(PUMPS, "restart", lambda obj: None, lambda obj, d: dict(d)).steps] == [1, 1, 1, 1]
    empty = ActionRunner(Pumps(), check_mode=True).plan([])
    assert (empty.steps, empty.batches, empty.changed) == ([], [], False)


def test_check_mode_predicts_the_acting_steps_and_carries_nothing_out():
    pumps = Pumps()
    runner = ActionRunner(pumps, check_mode=True)
    plan = runner.plan(PUMPS, batch_size=2)
    runner.apply(plan)
    assert pumps.carried == []
    assert [s["state_after"] for s in plan.steps] == ["running", None, "running", "running"]
    assert plan.changed and plan.names(plan.carried_out) == ["p1", "p3", "p4"]
    assert runner.message(plan) == "Would restart 3 pumps in 2 batches; 1 skipped (check mode, nothing was sent)"


def test_a_run_reports_what_the_adapter_did_not_what_was_planned():
    pumps = Pumps(fail_at="p4")
    runner = ActionRunner(pumps)
    plan = runner.plan(PUMPS, batch_size=2)
    with pytest.raises(CtCloudError):
        runner.apply(plan)
    assert pumps.carried == [["p1", "p3"], ["p4"]]
    assert plan.names(plan.carried_out) == ["p1", "p3"]  # p4 was planned, and failed
    assert plan.changed


def test_a_refused_plan_does_nothing_in_either_mode():
    for check_mode in (True, False):
        pumps = Pumps(refuse_broken=True)
        runner = ActionRunner(pumps, check_mode)
        plan = runner.plan(PUMPS)
        with pytest.raises(PlanRefusedError):
            runner.apply(plan)
        assert pumps.carried == []
        assert all(s["state_after"] is None for s in plan.steps)  # not even predicted
        assert plan.changed is check_mode  # check mode still says what would have happened


def test_messages_after_a_run():
    runner = ActionRunner(Pumps())
    plan = runner.plan(PUMPS[:1])
    runner.apply(plan)
    assert runner.message(plan) == "Restarted 1 pump in 1 batch, all running"
    nothing = runner.plan(PUMPS[1:2])
    runner.apply(nothing)
    assert (nothing.changed, runner.message(nothing)) == (False, "Nothing to restart; 1 skipped")
    assert ActionRunner(Pumps(), check_mode=True).message(nothing) == "Nothing to restart; 1 skipped (check mode)"


def test_the_diff_is_the_plan_batch_by_batch_with_skipped_objects_as_context():
    runner = ActionRunner(Pumps(), check_mode=True)
    plan = runner.plan(PUMPS, batch_size=2)
    assert runner.diff(plan) == {
        "before_header": "pumps",
        "after_header": "restart plan",
        "before": "batch 1 of 2:\n  p1 (pump 1): running\n  p3 (pump 3): running\nbatch 2 of 2:\n  p4 (pump 4): running\n"
        "skipped:\n  p2 (broken): it is broken\n",
        "after": "batch 1 of 2:\n  p1 (pump 1): restart\n  p3 (pump 3): restart\nbatch 2 of 2:\n  p4 (pump 4): restart\n"
        "skipped:\n  p2 (broken): it is broken\n",
    }
    runner.apply(plan)
    assert runner.diff(plan) == ActionRunner(Pumps()).diff(plan)  # the same in check mode and in the run


# -- the field-error hook: the runner reads no vendor's error shape -------------


class Places(Resource):
    shape = LOCATION


def refusal() -> ApiError:
    return ApiError("Validation failed", "POST", "http://x/locations", 422, details={"body": {"errors": {"location_address": ["is too long"]}}})


def test_a_resource_that_names_no_field_errors_leaves_a_refusal_as_it_is():
    assert Places(None).explain(refusal()).message == "Validation failed"


def test_an_adapter_supplies_the_field_errors_and_its_api_name():
    class NamedPlaces(Places):
        api_name = "Acme"

        def field_errors(self, exc: ApiError) -> dict[str, list[str]]:
            return exc.details["body"]["errors"]

    assert NamedPlaces(None).explain(refusal()).message == "Acme rejected the location: address is too long"
