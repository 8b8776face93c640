# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ct_voucher and ct_voucher_info over an in-memory CT: plan = run, codes stay out of diffs, bad input sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils import module_base
from ansible_collections.ctcloud.cloud.plugins.module_utils._state import resource
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import KNOWN_AFTER_CREATE
from ansible_collections.ctcloud.cloud.plugins.modules import ct_voucher, ct_voucher_info
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_ct_api import FakeCtApi, batch
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

NEW = {
    "location": "Brighton Seafront Cafe",
    "batch_name": "Conference",
    "description": "Day passes",
    "quantity": 12,
    "access_type": "time",
    "validity_minutes": 1440,
    "session_timeout": 480,
    "code_length": 8,
    "splash_page_id": "external",
}
EXISTING = "e" * 32


@pytest.fixture(autouse=True)
def api(monkeypatch, tmp_path):
    monkeypatch.setenv("CTCLOUD_TOKEN_STORE", str(tmp_path / "private" / "tokens.json"))  # its directory holds the create locks
    instance = FakeCtApi([batch(EXISTING, "1001", "Existing", quantity=10)])
    monkeypatch.setattr(FakeCtApi, "instance", instance)
    monkeypatch.setattr(FakeCtApi, "builds", 0)
    monkeypatch.setattr(module_base, "CtClient", FakeCtApi)
    monkeypatch.setattr(resource, "WAIT_FIRST_PAUSE", 0.0)
    return instance


def run(capsys, module=ct_voucher, **args: Any) -> dict[str, Any]:
    args.setdefault("client_id", "ct-client")
    args.setdefault("client_secret", "ct-secret-value")
    args.setdefault("refresh_token", "ct-refresh-value")
    return run_main(module.main, capsys, args)


def test_check_mode_plans_the_create_with_the_full_diff_and_writes_nothing(capsys, api):
    planned = run(capsys, **NEW, return_codes=True, _ansible_check_mode=True, _ansible_diff=True)
    assert planned["changed"] is True
    assert api.writes == []
    assert planned["voucher"]["unique_id"] is None and planned["voucher"]["completed"] is False
    assert planned["diff"]["before"] == {}
    assert planned["diff"]["after"]["batch_name"] == "Conference"
    assert planned["diff"]["after"]["download_speed"] == 2048  # the API's default, shown in the plan
    # A time batch has no data limit: the plan says so instead of "(known after create)".
    assert (planned["diff"]["after"]["validity_minutes"], planned["diff"]["after"]["data_limit_mb"]) == (NEW["validity_minutes"], None)
    assert planned["codes"] == []
    # The real run does what the plan said.
    done = run(capsys, **NEW, _ansible_diff=True)
    assert done["changes"] == planned["changes"]
    known = {k: v for k, v in planned["diff"]["after"].items() if v != KNOWN_AFTER_CREATE}
    assert planned["diff"]["after"]["unique_id"] == KNOWN_AFTER_CREATE  # only the server picks it
    assert {k: done["diff"]["after"][k] for k in known} == known
    assert api.writes == [("POST", "locations/1001/vouchers")]


def test_a_data_batch_plans_no_validity(capsys, api):
    data = {**NEW, "access_type": "data", "data_limit_mb": 500}
    del data["validity_minutes"]
    planned = run(capsys, **data, _ansible_check_mode=True, _ansible_diff=True)
    assert (planned["diff"]["after"]["validity_minutes"], planned["diff"]["after"]["data_limit_mb"]) == (None, 500)


def test_create_waits_for_the_codes_and_returns_them_outside_the_diff(capsys, api):
    result = run(capsys, **NEW, return_codes=True, _ansible_diff=True)
    assert result["changed"] is True
    assert result["voucher"]["completed"] is True
    assert len(result["codes"]) == 12
    assert set(result["codes"][0]) == {"username", "password", "serial", "active"}
    polls = [c for c in api.calls if c[0] == "GET" and "/vouchers/" in c[1]]
    assert len(polls) == api.polls_until_complete
    text = json.dumps({"diff": result["diff"], "changes": result["changes"], "voucher": result["voucher"]})
    assert "pass001" not in text and "user001" not in text


def test_rerun_is_unchanged_with_no_writes(capsys, api):
    run(capsys, **NEW)
    writes = len(api.writes)
    again = run(capsys, **NEW)
    assert again["changed"] is False
    assert again["changes"] == {}
    assert len(api.writes) == writes


def test_wait_false_returns_at_once_without_codes(capsys, api):
    result = run(capsys, **NEW, wait=False, return_codes=True)
    assert result["voucher"]["completed"] is False
    assert result["codes"] == []
    assert not [c for c in api.calls if c[0] == "GET" and "/vouchers/" in c[1]]


def test_wait_timeout_fails_but_reports_the_created_batch(capsys, api):
    api.polls_until_complete = 10**6
    result = run(capsys, **NEW, wait_timeout=0)
    assert result["failed"] is True
    assert result["changed"] is True
    assert "did not finish within 0 seconds" in result["msg"]
    assert result["voucher"]["unique_id"] == api.vouchers[-1]["unique_id"]
    assert len(api.vouchers) == 2


def test_update_changes_only_what_differs(capsys, api):
    result = run(capsys, location="1001", batch_name="Existing", session_timeout=30, active=False, quantity=10, _ansible_diff=True)
    assert result["changed"] is True
    assert result["changes"] == {"session_timeout": {"before": 60, "after": 30}, "active": {"before": True, "after": False}}
    assert api.writes == [("PATCH", f"locations/1001/vouchers/{EXISTING}")]
    assert result["diff"]["before"]["session_timeout"] == 60 and result["diff"]["after"]["session_timeout"] == 30


def test_an_immutable_change_fails_and_writes_nothing(capsys, api):
    result = run(capsys, location="1001", batch_name="Existing", quantity=50)
    assert result["failed"] is True
    assert "quantity (is 10, wanted 50) cannot change after creation" in result["msg"]
    assert result["failure"]["kind"] == "input"
    assert api.writes == []


def test_a_limit_of_the_other_access_type_fails_after_the_read_and_before_any_write(capsys, api):
    result = run(capsys, location="1001", batch_name="Existing", data_limit_mb=500)
    assert result["failed"] is True
    assert "data_limit_mb applies to access_type data only (the batch 'Existing' is time)" in result["msg"]
    assert api.writes == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"quantity": 0}, "quantity must be between 10 and 1000"),
        ({"quantity": 100000}, "quantity must be between 10 and 1000"),
        ({"batch_name": "  "}, "batch_name must not be empty"),
        ({"session_timeout": 2000}, "must not exceed validity_minutes"),
        ({"data_limit_mb": 100}, "exclude each other"),
        ({"splash_page_id": "home"}, "splash_page_id must be a numeric page id"),
        ({"wait_timeout": -1}, "wait_timeout must be between 0 and 86400"),
    ],
)
def test_bad_input_fails_before_any_client_exists(capsys, api, given, message):
    result = run(capsys, **{**NEW, **given})
    assert result["failed"] is True
    assert message in result["msg"]
    assert FakeCtApi.builds == 0
    assert api.calls == []


def test_unknown_choice_is_refused_by_the_argument_spec(capsys, api):
    result = run(capsys, **{**NEW, "access_type": "minutes"})
    assert result["failed"] is True and "access_type" in result["msg"]
    assert api.calls == []


def test_a_missing_location_fails_for_present_and_is_nothing_to_do_for_absent(capsys, api):
    result = run(capsys, **{**NEW, "location": "Nowhere Special"})
    assert result["failed"] is True
    assert "location 'Nowhere Special' does not exist" in result["msg"]
    absent = run(capsys, location="Nowhere Special", batch_name="Conference", state="absent")
    assert absent["changed"] is False and absent["voucher"] is None
    assert api.writes == []


def test_absent_deletes_in_a_real_run_only(capsys, api):
    planned = run(capsys, location="brighton-seafront-cafe-abc", batch_name="Existing", state="absent", _ansible_check_mode=True, _ansible_diff=True)
    assert planned["changed"] is True and planned["voucher"] is None
    assert planned["diff"]["after"] == {} and planned["diff"]["before"]["batch_name"] == "Existing"
    assert api.writes == []
    done = run(capsys, location="brighton-seafront-cafe-abc", batch_name="Existing", state="absent")
    assert done["changed"] is True
    assert api.writes == [("DELETE", f"locations/1001/vouchers/{EXISTING}")]
    again = run(capsys, location="brighton-seafront-cafe-abc", batch_name="Existing", state="absent")
    assert again["changed"] is False


def test_a_shared_batch_name_fails_listing_the_batches_and_an_id_resolves_it(capsys, api):
    api.vouchers.append(batch("f" * 32, "1001", "Existing"))
    result = run(capsys, location="1001", batch_name="Existing", active=False)
    assert result["failed"] is True
    assert f"2 vouchers are named 'Existing' (ids {EXISTING}, {'f' * 32})" in result["msg"]
    renamed = run(capsys, location="1001", id="f" * 32, batch_name="Existing (2)")
    assert renamed["changes"] == {"batch_name": {"before": "Existing", "after": "Existing (2)"}}


def test_an_unknown_id_cannot_be_created(capsys, api):
    result = run(capsys, **NEW, id="0" * 32)
    assert result["failed"] is True
    assert "an id cannot be chosen when creating" in result["msg"]
    assert api.writes == []


def test_codes_of_an_existing_batch_are_read_in_check_mode(capsys, api):
    result = run(capsys, location="1001", batch_name="Existing", return_codes=True, _ansible_check_mode=True)
    assert result["changed"] is False
    assert len(result["codes"]) == 10


def test_info_lists_filters_and_adds_codes(capsys, api):
    api.vouchers.append(batch("a" * 32, "1001", "Staff", is_active=False))
    api.vouchers.append(batch("b" * 32, "1002", "Elsewhere"))
    listed = run(capsys, ct_voucher_info, location="Brighton Seafront Cafe")
    assert [v["unique_id"] for v in listed["vouchers"]] == [EXISTING, "a" * 32]
    assert listed["location"]["id"] == "1001"
    assert "codes" not in listed["vouchers"][0]
    inactive = run(capsys, ct_voucher_info, location="1001", active=False, return_codes=True)
    assert [v["batch_name"] for v in inactive["vouchers"]] == ["Staff"]
    assert len(inactive["vouchers"][0]["codes"]) == 10
    named = run(capsys, ct_voucher_info, location="1001", batch_name=" staff ")
    assert named["vouchers"] == []  # exact name, not the search's case-insensitive substring
    one = run(capsys, ct_voucher_info, location="1001", id=EXISTING)
    assert [v["unique_id"] for v in one["vouchers"]] == [EXISTING]
    missing = run(capsys, ct_voucher_info, location="Nowhere Special")
    assert missing["failed"] is True and "does not exist" in missing["msg"]
    assert api.writes == []


# -- issue 18: one batch per name, even when another controller creates it at the same moment ----------------------


TWIN_RACE = {**NEW, "location": "1001", "wait": False}


class OtherControllerCreatesToo(FakeCtApi):
    """While this run's create is on its way, another controller (whose lock this one cannot see) creates the same name."""

    def __init__(self, theirs: dict[str, Any]) -> None:
        super().__init__([batch(EXISTING, "1001", "Existing", quantity=10)], polls_until_complete=0)
        self.theirs = theirs

    def request(self, method, segments, params=None, body=None, schema=None, replay_safe=None):
        reply = super().request(method, segments, params, body, schema, replay_safe)
        if method == "POST":
            self.vouchers.append(batch(self.theirs.pop("unique_id"), "1001", body["voucher"]["batch_name"], batch_description="Day passes",
                                       quantity=12, validity_minutes=1440, session_timeout=480, **self.theirs))
        return reply


@pytest.mark.parametrize(("theirs", "ours_kept"), [
    ({"unique_id": "b" * 32, "created_at": 1699999999}, False),  # theirs is older: ours goes
    ({"unique_id": "b" * 32, "created_at": 1700000001}, True),  # theirs is newer: its creator deletes it, not us
    ({"unique_id": "0" * 32, "created_at": 1700000000}, False),  # same second: the lower id counts as the older, on every controller
    ({"unique_id": "f" * 32, "created_at": 1700000000}, True),
])
def test_a_twin_from_another_controller_is_settled_on_the_oldest(capsys, monkeypatch, theirs, ours_kept):
    api = OtherControllerCreatesToo(dict(theirs))
    monkeypatch.setattr(FakeCtApi, "instance", api)
    result = run(capsys, **TWIN_RACE)
    ours = f"{1:032x}"  # the fake's first new id
    assert result["changed"] is True
    twins = [v["unique_id"] for v in api.vouchers if v["batch_name"] == "Conference"]
    if ours_kept:
        assert result["deleted_twins"] == [] and "warnings" not in result
        assert result["voucher"]["unique_id"] == ours and twins == [ours, theirs["unique_id"]]  # theirs is its creator's to delete
    else:
        assert twins == [theirs["unique_id"]] and result["voucher"]["unique_id"] == theirs["unique_id"]
        assert result["deleted_twins"] == [ours]
        assert [call for call in api.writes if call[0] == "DELETE"] == [("DELETE", f"locations/1001/vouchers/{ours}")]
        assert f"kept the older batch ({theirs['unique_id']}) and deleted the one this run created ({ours})" in json.dumps(result["warnings"])


def test_a_twin_with_other_fixed_settings_is_kept_and_the_conflict_reported(capsys, monkeypatch):
    api = OtherControllerCreatesToo({"unique_id": "b" * 32, "created_at": 1699999999, "length": 10})
    monkeypatch.setattr(FakeCtApi, "instance", api)
    result = run(capsys, **TWIN_RACE)
    assert result["failed"] is True
    assert "another run created voucher batch 'Conference' at the same moment, with other fixed settings" in result["msg"]
    assert "code_length (is 10, wanted 8)" in result["msg"]
    assert [v["unique_id"] for v in api.vouchers if v["batch_name"] == "Conference"] == ["b" * 32]


def test_creates_take_turns_through_a_lock_file_beside_the_token_store(capsys, api, tmp_path):
    run(capsys, **NEW, wait=False)
    [lock] = (tmp_path / "private" / "locks").iterdir()
    assert lock.name.startswith("voucher-")
    run(capsys, **NEW, wait=False, _ansible_check_mode=True)  # a check run takes no turn: nothing to race with
    assert len(list((tmp_path / "private" / "locks").iterdir())) == 1


def test_a_blank_description_is_refused_before_any_request_on_update_too(capsys, api):
    for description in ("", "   "):
        result = run(capsys, location="1001", batch_name="Existing", description=description)
        assert result["failed"] is True and result["msg"] == "description must not be empty or blank"
    assert api.calls == [] and FakeCtApi.builds == 0
