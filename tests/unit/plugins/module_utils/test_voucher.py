# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The voucher adapter: input rules before any request, the field table, immutables, lookups, convergence."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import ApiError, InputError
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import find_location
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.voucher import (
    ENTRY_OPTIONS,
    SHAPE,
    VoucherResource,
    check_combination,
    validate,
)
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.engine import CREATE, NOTHING, UPDATE, AmbiguousKeyError, ImmutableFieldError, plan
from ansible_collections.ctcloud.cloud.plugins.module_utils._state.resource import Runner
from ansible_collections.ctcloud.cloud.tests.unit.plugins.module_utils.fake_ct_api import FakeCtApi, batch

NEW_TIME = {
    "location": "Brighton Seafront Cafe",
    "batch_name": "Conference",
    "description": "Day passes",
    "quantity": 50,
    "access_type": "time",
    "validity_minutes": 1440,
    "session_timeout": 480,
    "code_length": 8,
    "splash_page_id": "external",
    "state": "present",
}


def options(**given):
    full = dict.fromkeys(ENTRY_OPTIONS)
    full.update(NEW_TIME)
    full.update(given)
    return full


# -- validation: every rule that needs no request -----------------------------------------


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"location": "  "}, "location", "location must not be empty"),
        ({"batch_name": ""}, "batch_name", "batch_name must not be empty"),
        ({"batch_name": "x" * 101}, "batch_name", "at most 100 characters"),
        ({"batch_name": None}, "batch_name", "needs a batch_name (or an id)"),
        ({"description": "d" * 256}, "description", "at most 255"),
        ({"quantity": 0}, "quantity", "quantity must be between 10 and 1000, got 0"),
        ({"quantity": 9}, "quantity", "between 10 and 1000"),
        ({"quantity": 1001}, "quantity", "between 10 and 1000"),
        ({"quantity": 10**9}, "quantity", "between 10 and 1000"),
        ({"quantity": True}, "quantity", "quantity must be an integer"),
        ({"validity_minutes": 4}, "validity_minutes", "between 5 and 518412"),
        ({"validity_minutes": 518413}, "validity_minutes", "between 5 and 518412"),
        ({"access_type": "data", "validity_minutes": None, "data_limit_mb": 49}, "data_limit_mb", "between 50 and 1000000"),
        ({"session_timeout": 0}, "session_timeout", "between 1 and"),
        ({"idle_timeout": 9}, "idle_timeout", "between 10 and 43200"),
        ({"simultaneous_use": 101}, "simultaneous_use", "between 1 and 100"),
        ({"code_length": 5}, "code_length", "between 6 and 50"),
        ({"code_length": 51}, "code_length", "between 6 and 50"),
        ({"download_speed": 55}, "download_speed", "between 56 and 102400"),
        ({"upload_speed": 102401}, "upload_speed", "between 56 and 102400"),
        ({"splash_page_id": "page-1"}, "splash_page_id", "numeric page id or 'external'"),
        ({"splash_page_id": "-1"}, "splash_page_id", "numeric page id"),
        ({"id": "two words"}, "id", "unique_id (letters, digits, '-', '_', '.' or '~'"),
        ({"id": "../vouchers"}, "id", "unique_id (letters"),
        ({"id": ".."}, "id", "unique_id (letters"),
        ({"id": "   "}, "id", "unique_id (letters"),
        ({"id": "a" * 256}, "id", "unique_id (letters"),
        ({"description": ""}, "description", "description must not be empty or blank"),
        ({"description": "   "}, "description", "description must not be empty or blank"),
        # Type mismatches: each limit belongs to one access type.
        ({"data_limit_mb": 500}, "data_limit_mb", "validity_minutes (access_type time) and data_limit_mb (access_type data) exclude each other"),
        ({"validity_minutes": None, "data_limit_mb": 500}, "data_limit_mb", "data_limit_mb applies to access_type data only"),
        ({"access_type": "data", "data_limit_mb": None}, "validity_minutes", "validity_minutes applies to access_type time only"),
        ({"session_timeout": 1441}, "session_timeout", "session_timeout (1441 minutes) must not exceed validity_minutes (1440 minutes)"),
        ({"access_type": None, "session_timeout": 61, "validity_minutes": 60}, "session_timeout", "must not exceed validity_minutes"),
    ],
)
def test_bad_input_names_the_option(given, field, message):
    with pytest.raises(InputError) as caught:
        validate(options(**given))
    assert message in str(caught.value)
    assert caught.value.field == field


def test_valid_input_is_cleaned():
    clean = validate(options(batch_name="  Conference ", splash_page_id=" External ", id=" ABCDEF0123456789abcdef0123456789 "))
    assert clean["batch_name"] == "Conference"
    assert clean["splash_page_id"] == "external"
    assert clean["id"] == "abcdef0123456789abcdef0123456789"


@pytest.mark.parametrize("given", ["0123456789abcdef", "B08BB2A0F4DF84BE", "Voucher-42", "a", "x" * 255, "v1.2_~3"])
def test_an_id_is_any_run_of_url_safe_characters_kept_as_the_api_gave_it(given):
    assert validate(options(id=given))["id"] == given


def test_boundaries_are_accepted():
    for given in (
        {"quantity": 10, "validity_minutes": 5, "session_timeout": 5, "code_length": 6, "idle_timeout": 10, "download_speed": 56},
        {"quantity": 1000, "validity_minutes": 518412, "session_timeout": 518412, "code_length": 50, "idle_timeout": 43200, "upload_speed": 102400},
        {"access_type": "data", "validity_minutes": None, "data_limit_mb": 1_000_000, "session_timeout": 100_000},
    ):
        clean = validate(options(**given))
        assert {name: clean[name] for name in given} == given  # accepted unchanged, not clamped


def test_a_data_batch_session_is_not_bounded_by_validity():
    clean = validate(options(access_type="data", validity_minutes=None, data_limit_mb=500, session_timeout=10_000))
    assert (clean["session_timeout"], clean["data_limit_mb"]) == (10_000, 500)


def test_absent_needs_only_the_name():
    clean = validate({"location": "1001", "batch_name": "Old", "state": "absent", "data_limit_mb": None})
    assert (clean["batch_name"], clean["state"]) == ("Old", "absent")


# -- rules against the existing batch (checked after the read, before any write) -----------


def test_a_data_limit_for_an_existing_time_batch_is_refused():
    current = batch("a" * 32, "1001", "Conference")
    with pytest.raises(InputError) as caught:
        check_combination({"batch_name": "Conference", "data_limit_mb": 500}, current)
    assert "the batch 'Conference' is time" in str(caught.value)
    assert caught.value.field == "data_limit_mb"


def test_validity_for_an_existing_data_batch_is_refused():
    current = batch("a" * 32, "1001", "Data", access_type=2, validity_minutes=None, access_restrict_data=500)
    with pytest.raises(InputError) as caught:
        check_combination({"batch_name": "Data", "validity_minutes": 60}, current)
    assert caught.value.field == "validity_minutes"


def test_shorter_validity_than_the_existing_session_is_refused():
    current = batch("a" * 32, "1001", "Conference", validity_minutes=600, session_timeout=480)
    with pytest.raises(InputError, match=r"session_timeout \(480 minutes\) must not exceed validity_minutes \(300"):
        check_combination({"batch_name": "Conference", "validity_minutes": 300}, current)
    check_combination({"batch_name": "Conference", "validity_minutes": 300, "session_timeout": 300}, current)


# -- the field table ---------------------------------------------------------------------------


def test_options_map_to_api_fields():
    sent = SHAPE.api_values(validate(options(restrict_period="none", voucher_format="words", active=False, idle_timeout=30)))
    assert sent == {
        "batch_name": "Conference",
        "batch_description": "Day passes",
        "quantity": 50,
        "access_type": 1,
        "validity_minutes": 1440,
        "session_timeout": 480,
        "idle_timeout": 30,
        "length": 8,
        "voucher_format": "words",
        "access_restrict_period": "",
        "splash_page_id": "external",
        "is_active": False,
    }
    assert SHAPE.api_values({"access_type": "data", "data_limit_mb": 500}) == {"access_type": 2, "access_restrict_data": 500}


def test_api_objects_read_in_option_words():
    view = SHAPE.view(batch("b" * 32, "1001", "Data", access_type=2, access_restrict_data=500, access_restrict_period="weekly"))
    assert view["unique_id"] == "b" * 32
    assert view["access_type"] == "data"
    assert view["data_limit_mb"] == 500
    assert view["restrict_period"] == "weekly"
    assert view["code_length"] == 8
    assert view["active"] is True
    assert SHAPE.view(batch("b" * 32, "1001", "X"))["restrict_period"] == "none"


def test_create_sends_active_only_as_a_follow_up_and_not_when_it_is_the_default():
    resource = VoucherResource(FakeCtApi(), "1001")
    item = plan(SHAPE, None, validate(options(active=True)), resource.new_defaults)
    assert item.action == CREATE
    assert "is_active" not in item.payload and item.followup == {}
    item = plan(SHAPE, None, validate(options(active=False)), resource.new_defaults)
    assert item.followup == {"is_active": False}


def test_a_planned_create_shows_the_api_defaults():
    resource = VoucherResource(FakeCtApi(), "1001")
    predicted = plan(SHAPE, None, validate(options()), resource.new_defaults).predicted
    assert predicted["unique_id"] is None and predicted["completed"] is False
    assert predicted["location_id"] == "1001"
    assert (predicted["download_speed"], predicted["upload_speed"], predicted["simultaneous_use"]) == (2048, 1024, 1)
    assert predicted["access_type"] == 1 and predicted["length"] == 8


# -- immutables ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "option", "shown"),
    [
        ({"quantity": 20}, "quantity", "quantity (is 10, wanted 20)"),
        ({"code_length": 10}, "code_length", "code_length (is 8, wanted 10)"),
        ({"voucher_format": "numeric"}, "voucher_format", "voucher_format (is 'alphanumeric', wanted 'numeric')"),
        ({"restrict_period": "daily"}, "restrict_period", "restrict_period (is 'none', wanted 'daily')"),
        ({"access_type": "data", "validity_minutes": None, "data_limit_mb": 500}, "access_type", "access_type (is 'time', wanted 'data')"),
        ({"splash_page_id": "42"}, "splash_page_id", "splash_page_id (is 'external', wanted '42')"),
    ],
)
def test_immutable_fields_cannot_change(given, option, shown):
    current = batch("c" * 32, "1001", "Conference")
    wanted = {"batch_name": "Conference", **given}
    with pytest.raises(ImmutableFieldError) as caught:
        plan(SHAPE, current, wanted)
    assert shown in str(caught.value)
    assert "cannot change after creation" in str(caught.value)
    assert caught.value.field == option


def test_immutables_equal_to_the_current_value_are_fine_and_mutables_update():
    current = batch("c" * 32, "1001", "Conference")
    item = plan(SHAPE, current, {"batch_name": "Conference", "quantity": 10, "restrict_period": "none", "session_timeout": 30, "active": False})
    assert item.action == UPDATE
    assert item.payload == {"session_timeout": 30, "is_active": False}
    assert plan(SHAPE, current, {"batch_name": " Conference ", "quantity": 10}).action == NOTHING


# -- lookups ---------------------------------------------------------------------------------------


def test_location_by_id_slug_or_name():
    api = FakeCtApi()
    assert find_location(api, "1001")["id"] == "1001"
    assert find_location(api, "brighton-seafront-cafe-abc")["id"] == "1001"
    assert api.calls == [("GET", "locations/1001"), ("GET", "locations/brighton-seafront-cafe-abc")]
    api.calls.clear()
    assert find_location(api, "Brighton Seafront Cafe")["id"] == "1001"
    assert api.calls == [("LIST", "locations?location_name=Brighton Seafront Cafe")]  # cannot be an id or a slug: no GET
    api.calls.clear()
    assert find_location(api, "office")["id"] == "1002"  # slug-like name: tried as a slug, then as a name
    assert api.calls == [("GET", "locations/office"), ("LIST", "locations?location_name=office")]
    assert find_location(api, "Nowhere Special") is None


def test_a_location_name_shared_by_two_locations_is_an_error_listing_them():
    with pytest.raises(AmbiguousKeyError) as caught:
        find_location(FakeCtApi(), "Twin Name")
    assert "2 locations are named 'Twin Name' (ids 1003, 1004)" in str(caught.value)


def test_a_batch_name_shared_by_two_batches_is_an_error_listing_them():
    api = FakeCtApi([batch("d" * 32, "1001", "Dup"), batch("e" * 32, "1001", "Dup"), batch("f" * 32, "1002", "Dup")])
    with pytest.raises(AmbiguousKeyError) as caught:
        VoucherResource(api, "1001").find({"batch_name": "Dup"})
    assert f"2 vouchers are named 'Dup' (ids {'d' * 32}, {'e' * 32}); refer to one by id" in str(caught.value)
    assert [m["unique_id"] for m in caught.value.details["matches"]] == ["d" * 32, "e" * 32]


def test_batches_are_found_by_exact_name_within_their_location():
    api = FakeCtApi([batch("d" * 32, "1001", "Summer 2024"), batch("e" * 32, "1001", "Summer"), batch("f" * 32, "1002", "Summer")])
    found = VoucherResource(api, "1001").find({"batch_name": "Summer"})
    assert found["unique_id"] == "e" * 32
    assert VoucherResource(api, "1001").find({"batch_name": "Winter"}) is None
    assert VoucherResource(api, "1001").find({"id": "f" * 32}) is None  # another location's batch


def test_creating_needs_the_limit_of_its_access_type():
    resource = VoucherResource(FakeCtApi(), "1001")
    assert resource.missing_for_create({"access_type": "time", "batch_name": "x"}) == [
        "description", "quantity", "session_timeout", "code_length", "splash_page_id", "validity_minutes",
    ]
    assert "data_limit_mb" in resource.missing_for_create({"access_type": "data"})
    runner = Runner(resource)
    with pytest.raises(InputError, match="voucher 'Conference' does not exist; creating it needs quantity"):
        runner.plan_one({"batch_name": "Conference", "description": "x", "access_type": "time"})


def test_codes_are_the_four_public_fields_of_every_code():
    api = FakeCtApi([batch("d" * 32, "1001", "Ready", quantity=12)])
    codes = VoucherResource(api, "1001").codes({"unique_id": "d" * 32})
    assert len(codes) == 12
    assert codes[0] == {"username": "user001", "password": "pass001", "serial": 1, "active": False}


# -- convergence: never a second batch -------------------------------------------------------------


def test_a_create_whose_answer_was_lost_converges_on_the_batch_it_made():
    api = FakeCtApi()
    api.failures = [("POST", ApiError("Service unavailable", "POST", "http://ct/v", 503, retryable=True), True)]
    runner = Runner(VoucherResource(api, "1001"))
    clean = validate(options())
    item = runner.plan_one(clean)
    created = runner.apply(item, clean)
    assert len(api.vouchers) == 1
    assert created["unique_id"] == api.vouchers[0]["unique_id"]
    assert [c for c in api.calls if c[0] == "POST"] == [("POST", "locations/1001/vouchers")]


def test_a_create_refused_before_processing_is_sent_again_once():
    api = FakeCtApi()
    api.failures = [("POST", ApiError("Service unavailable", "POST", "http://ct/v", 503, retryable=True), False)]
    runner = Runner(VoucherResource(api, "1001"))
    clean = validate(options())
    runner.apply(runner.plan_one(clean), clean)
    assert len(api.vouchers) == 1
    assert len([c for c in api.calls if c[0] == "POST"]) == 2


def test_a_422_names_the_option_not_the_api_field():
    api = FakeCtApi([batch("d" * 32, "1001", "Conference")])
    resource = VoucherResource(api, "1001")
    with pytest.raises(ApiError) as caught:
        resource.update(api.vouchers[0], {"length": 12})
    assert str(caught.value).endswith("CT rejected the voucher: code_length cannot be changed after creation")


# -- single-use codes: restrict_period all and access_period ----------------------------------------------------


def test_single_use_needs_an_access_period_to_create_and_it_is_sent():
    resource = VoucherResource(FakeCtApi(), "1001")
    assert "access_period" in resource.missing_for_create(validate(options(restrict_period="all")))
    single = validate(options(restrict_period="all", access_period=1440))
    assert resource.missing_for_create(single) == []
    assert SHAPE.api_values(single)["access_period"] == 1440 and SHAPE.api_values(single)["access_restrict_period"] == "all"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"access_period": 60}, "access_period is the single-use limit: it applies only with restrict_period: all"),
        ({"restrict_period": "daily", "access_period": 60}, "applies only with restrict_period: all"),
        ({"restrict_period": "all", "access_period": 60}, "access_period (60 minutes) must be at least validity_minutes (1440 minutes)"),
        ({"restrict_period": "all", "access_period": 43_202}, "access_period must be between 1 and 43201"),
    ],
)
def test_access_period_rules_are_checked_before_any_request(given, message):
    with pytest.raises(InputError) as caught:
        validate(options(**given))
    assert message in str(caught.value) and caught.value.field == "access_period"


def test_access_period_is_checked_against_the_batch_that_exists():
    single = batch("c" * 32, "1001", "Walk-ins", access_restrict_period="all", access_period=1440, validity_minutes=1440)
    check_combination({"batch_name": "Walk-ins", "access_period": 2000}, single)  # a single-use batch takes it
    with pytest.raises(InputError, match=r"applies only with restrict_period: all \(single-use codes\) \(the batch 'Conference' has restrict_period none\)"):
        check_combination({"batch_name": "Conference", "access_period": 2000}, batch("d" * 32, "1001", "Conference"))
    with pytest.raises(InputError, match=r"must be at least validity_minutes \(3000 minutes\)"):
        check_combination({"batch_name": "Walk-ins", "validity_minutes": 3000}, single)


def test_rails_booleans_of_a_batch_and_its_codes_are_booleans():
    api = FakeCtApi([batch("d" * 32, "1001", "Dup", is_active=0, completed=1)])
    found = VoucherResource(api, "1001").find({"batch_name": "Dup"})
    assert found["is_active"] is False
    assert api.calls == [("LIST", "locations/1001/vouchers?batch_name=Dup")]
