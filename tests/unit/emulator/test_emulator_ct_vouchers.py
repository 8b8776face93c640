"""CT vouchers: creation rules, asynchronous completion, fixed settings, codes, deletion."""

from __future__ import annotations

import re
import time

import pytest

VOUCHER_FIELDS = {
    "unique_id", "location_id", "batch_name", "batch_description", "quantity", "is_active", "completed", "created_at",
    "csv_link", "pdf_link", "splash_page_id", "access_type", "validity_minutes", "access_restrict_data", "session_timeout",
    "idle_timeout", "simultaneous_use", "access_restrict_period", "access_period", "voucher_format", "download_speed", "upload_speed",
    "length",
}
TIME_BATCH = {
    "batch_name": "Summer Festival", "batch_description": "Day passes", "quantity": 12, "access_type": 1,
    "validity_minutes": 1440, "session_timeout": 60, "length": 8, "splash_page_id": "external",
}
DATA_BATCH = {
    "batch_name": "Data Bundle", "batch_description": "500 MB", "quantity": 10, "access_type": 2,
    "access_restrict_data": 500, "session_timeout": 120, "length": 6, "splash_page_id": 42,
}
# What a client sends for a data batch: the time batch's fields replaced, validity_minutes null.
DATA_ONLY = {**dict.fromkeys(TIME_BATCH), **DATA_BATCH}
FORMAT_PATTERNS = {"alphanumeric": r"[a-z0-9]+", "numeric": r"[0-9]+", "alpha": r"[a-z]+", "words": r"[a-z0-9]+"}


@pytest.fixture
def location(emu):
    return emu.ct_json("GET", "/locations")["locations"][0]


def vouchers_path(location):
    return f"/locations/{location['id']}/vouchers"


def create(emu, location, expected=201, **fields):
    return emu.ct_json("POST", vouchers_path(location), expected, json={"voucher": {**TIME_BATCH, **fields}})


def wait_until_completed(emu, path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        voucher = emu.ct_json("GET", path)
        if voucher["completed"]:
            return voucher
        time.sleep(0.05)
    raise AssertionError("voucher batch never completed")


def test_seeded_vouchers_are_listed_on_the_first_locations(emu, location):
    body = emu.ct_json("GET", vouchers_path(location))
    assert body["_links"]["total_entries"] == 2
    for voucher in body["vouchers"]:
        assert set(voucher) == VOUCHER_FIELDS
        assert voucher["completed"] is True
        assert voucher["csv_link"] and voucher["pdf_link"]


def test_create_returns_201_with_defaults_and_an_incomplete_batch(emu, location):
    voucher = create(emu, location)
    assert set(voucher) == VOUCHER_FIELDS
    assert re.fullmatch(r"[0-9a-f]{32}", voucher["unique_id"])
    assert voucher["location_id"] == location["id"]
    assert voucher["is_active"] is True
    assert voucher["completed"] is False
    assert voucher["csv_link"] is None and voucher["pdf_link"] is None
    assert (voucher["simultaneous_use"], voucher["access_restrict_period"], voucher["voucher_format"]) == (1, "", "alphanumeric")
    assert (voucher["download_speed"], voucher["upload_speed"], voucher["idle_timeout"]) == (2048, 1024, None)


def test_data_batch_needs_no_validity_and_stores_the_splash_page_id_as_a_string(emu, location):
    voucher = create(emu, location, **DATA_ONLY)
    assert voucher["access_restrict_data"] == 500
    assert voucher["splash_page_id"] == "42"
    assert voucher["batch_description"] == "500 MB"


def test_batch_completes_after_the_voucher_delay_and_then_has_its_codes(emu, location):
    voucher = create(emu, location, voucher_format="numeric", length=9)
    path = f"{vouchers_path(location)}/{voucher['unique_id']}"
    assert emu.ct_json("GET", f"{path}/codes")["codes"] == []
    completed = wait_until_completed(emu, path)
    assert completed["csv_link"].endswith(".csv") and completed["pdf_link"].endswith(".pdf")
    body = emu.ct_json("GET", f"{path}/codes", params={"per": 100})
    assert body["_links"]["total_entries"] == 12
    codes = body["codes"]
    assert set(codes[0]) == {"username", "password", "serial", "active", "date_activated"}
    assert all(re.fullmatch(r"[0-9]{9}", code["username"]) for code in codes)
    assert len({code["username"] for code in codes}) == 12
    assert emu.ct_json("GET", f"{path}/codes", params={"per": 100})["codes"] == codes  # deterministic


@pytest.mark.parametrize("voucher_format", sorted(FORMAT_PATTERNS))
def test_codes_follow_the_requested_format_and_length(emu, location, voucher_format):
    emu.configure(voucher_delay=0)
    voucher = create(emu, location, voucher_format=voucher_format, length=11, quantity=30)
    codes = emu.ct_json("GET", f"{vouchers_path(location)}/{voucher['unique_id']}/codes", params={"per": 100})["codes"]
    assert len(codes) == 30
    assert all(re.fullmatch(FORMAT_PATTERNS[voucher_format], code["username"]) and len(code["username"]) == 11 for code in codes)


def test_codes_page_and_filter_by_activation(emu, location):
    seeded = next(v for v in emu.ct_json("GET", vouchers_path(location))["vouchers"] if v["quantity"] >= 20)
    path = f"{vouchers_path(location)}/{seeded['unique_id']}/codes"
    all_codes = emu.ct_json("GET", path, params={"per": 100})["codes"]
    first_page = emu.ct_json("GET", path, params={"per": 5})
    assert first_page["codes"] == all_codes[:5]
    assert first_page["_links"]["total_pages"] == -(-seeded["quantity"] // 5)
    active = emu.ct_json("GET", path, params={"activated": "true", "per": 100})["codes"]
    inactive = emu.ct_json("GET", path, params={"activated": "false", "per": 100})["codes"]
    assert len(active) + len(inactive) == seeded["quantity"]
    assert all(code["active"] and code["date_activated"] for code in active)
    assert all(not code["active"] and code["date_activated"] is None for code in inactive)


@pytest.mark.parametrize(("fields", "errors"), [
    ({"batch_name": ""}, {"batch_name": ["can't be blank"]}),
    ({"batch_name": "x" * 101}, {"batch_name": ["is too long (maximum is 100 characters)"]}),
    ({"batch_description": "x" * 256}, {"batch_description": ["is too long (maximum is 255 characters)"]}),
    ({"batch_description": None}, {"batch_description": ["can't be blank"]}),
    ({"batch_description": ""}, {"batch_description": ["can't be blank"]}),
    ({"batch_description": "  "}, {"batch_description": ["can't be blank"]}),
    ({"quantity": 9}, {"quantity": ["must be greater than or equal to 10"]}),
    ({"quantity": 1001}, {"quantity": ["must be less than or equal to 1000"]}),
    ({"quantity": "many"}, {"quantity": ["is not a number"]}),
    ({"quantity": 10.5}, {"quantity": ["must be an integer"]}),
    ({"access_type": 3}, {"access_type": ["is not included in the list"]}),
    ({"validity_minutes": 4, "session_timeout": 4}, {"validity_minutes": ["must be greater than or equal to 5"]}),
    ({"validity_minutes": 518413}, {"validity_minutes": ["must be less than or equal to 518412"]}),
    ({"validity_minutes": None}, {"validity_minutes": ["can't be blank"]}),
    ({"session_timeout": 1441}, {"session_timeout": ["must be less than or equal to validity_minutes"]}),
    ({"length": 5}, {"length": ["must be greater than or equal to 6"]}),
    ({"length": 51}, {"length": ["must be less than or equal to 50"]}),
    ({"splash_page_id": "home"}, {"splash_page_id": ['must be a page id or "external"']}),
    ({"splash_page_id": None}, {"splash_page_id": ["can't be blank"]}),
    ({"idle_timeout": 9}, {"idle_timeout": ["must be greater than or equal to 10"]}),
    ({"idle_timeout": 43201}, {"idle_timeout": ["must be less than or equal to 43200"]}),
    ({"simultaneous_use": 101}, {"simultaneous_use": ["must be less than or equal to 100"]}),
    ({"access_restrict_period": "hourly"}, {"access_restrict_period": ["is not included in the list"]}),
    ({"voucher_format": "emoji"}, {"voucher_format": ["is not included in the list"]}),
    ({"download_speed": 55}, {"download_speed": ["must be greater than or equal to 56"]}),
    ({"upload_speed": 102401}, {"upload_speed": ["must be less than or equal to 102400"]}),
])
def test_create_validation_answers_422_with_field_errors(emu, location, fields, errors):
    assert create(emu, location, expected=422, **fields) == {"errors": errors}


def test_data_batch_requires_access_restrict_data_in_range(emu, location):
    assert create(emu, location, 422, **{**DATA_ONLY, "access_restrict_data": None}) == {"errors": {"access_restrict_data": ["can't be blank"]}}
    too_much = create(emu, location, 422, **{**DATA_ONLY, "access_restrict_data": 1_000_001})
    assert too_much == {"errors": {"access_restrict_data": ["must be less than or equal to 1000000"]}}


def test_create_on_an_unknown_location_is_404(emu):
    response = emu.ct_request("POST", "/locations/999999/vouchers", json={"voucher": TIME_BATCH})
    assert response.status_code == 404


def test_list_filters_by_exact_batch_name_or_substring(emu, location):
    create(emu, location, batch_name="Gala Night")
    create(emu, location, batch_name="Gala Night Staff")
    exact = emu.ct_json("GET", vouchers_path(location), params={"batch_name": "Gala Night"})["vouchers"]
    assert [voucher["batch_name"] for voucher in exact] == ["Gala Night"]
    fuzzy = emu.ct_json("GET", vouchers_path(location), params={"q": "gala"})["vouchers"]
    assert sorted(voucher["batch_name"] for voucher in fuzzy) == ["Gala Night", "Gala Night Staff"]


def test_vouchers_are_reachable_through_the_location_slug(emu, location):
    voucher = create(emu, location)
    assert emu.ct_json("GET", f"/locations/{location['slug']}/vouchers/{voucher['unique_id']}")["unique_id"] == voucher["unique_id"]


def test_voucher_of_another_location_is_404(emu, location):
    voucher = create(emu, location)
    other = emu.ct_json("GET", "/locations")["locations"][1]
    assert emu.ct_get(f"/locations/{other['id']}/vouchers/{voucher['unique_id']}").status_code == 404


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_an_update_may_not_blank_the_description(emu, location, blank):
    voucher = create(emu, location)
    path = f"{vouchers_path(location)}/{voucher['unique_id']}"
    body = emu.ct_json("PATCH", path, 422, json={"voucher": {"batch_description": blank}})
    assert body == {"errors": {"batch_description": ["can't be blank"]}}
    assert emu.ct_json("GET", path)["batch_description"] == voucher["batch_description"]


def test_new_batch_ids_have_the_configured_number_of_hex_digits(emu, location):
    emu.configure(voucher_id_length=16)
    voucher = create(emu, location)
    assert re.fullmatch(r"[0-9a-f]{16}", voucher["unique_id"])
    assert emu.ct_json("GET", f"{vouchers_path(location)}/{voucher['unique_id']}")["unique_id"] == voucher["unique_id"]


def test_update_changes_mutable_settings(emu, location):
    voucher = create(emu, location)
    changes = {"is_active": False, "batch_description": "Moved", "validity_minutes": 2880, "session_timeout": 2000,
               "idle_timeout": 30, "simultaneous_use": 3, "download_speed": 4096, "upload_speed": 2048}
    updated = emu.ct_json("PATCH", f"{vouchers_path(location)}/{voucher['unique_id']}", json={"voucher": changes})
    assert {key: updated[key] for key in changes} == changes


@pytest.mark.parametrize(("field", "value"), [
    ("quantity", 20), ("voucher_format", "numeric"), ("access_restrict_period", "daily"), ("access_type", 2), ("length", 10),
    ("splash_page_id", "7"),
])
def test_fixed_settings_cannot_change_after_creation(emu, location, field, value):
    voucher = create(emu, location)
    path = f"{vouchers_path(location)}/{voucher['unique_id']}"
    body = emu.ct_json("PATCH", path, 422, json={"voucher": {field: value, "batch_description": "ignored"}})
    assert body == {"errors": {field: ["cannot be changed after creation"]}}
    assert emu.ct_json("GET", path)["batch_description"] == voucher["batch_description"]


def test_sending_a_fixed_setting_unchanged_is_accepted(emu, location):
    voucher = create(emu, location)
    updated = emu.ct_json("PATCH", f"{vouchers_path(location)}/{voucher['unique_id']}",
                          json={"voucher": {"quantity": voucher["quantity"], "voucher_format": "alphanumeric", "is_active": False}})
    assert updated["is_active"] is False


def test_update_keeps_session_timeout_within_validity(emu, location):
    voucher = create(emu, location)
    body = emu.ct_json("PATCH", f"{vouchers_path(location)}/{voucher['unique_id']}", 422, json={"voucher": {"validity_minutes": 30}})
    assert body == {"errors": {"session_timeout": ["must be less than or equal to validity_minutes"]}}


def test_delete_answers_204_and_the_voucher_is_gone(emu, location):
    voucher = create(emu, location)
    path = f"{vouchers_path(location)}/{voucher['unique_id']}"
    response = emu.ct_request("DELETE", path)
    assert (response.status_code, response.content) == (204, b"")
    assert emu.ct_get(path).status_code == 404
    assert emu.stats()["writes"]["vouchers"] == {"POST": 1, "PATCH": 0, "DELETE": 1}


def test_single_use_codes_need_an_access_period_of_at_least_the_validity(emu, location):
    """The dashboard's "Single-Use Limit (mins)": required with access_restrict_period "all", validity_minutes..43201."""
    single = {"access_restrict_period": "all"}
    assert create(emu, location, 422, **single) == {"errors": {"access_period": ["can't be blank"]}}
    assert create(emu, location, 422, **single, access_period=60) == {"errors": {"access_period": ["must be greater than or equal to validity_minutes"]}}
    assert create(emu, location, 422, **single, access_period=43_202) == {"errors": {"access_period": ["must be less than or equal to 43201"]}}
    voucher = create(emu, location, **single, access_period=2000)
    assert (voucher["access_restrict_period"], voucher["access_period"]) == ("all", 2000)
    updated = emu.ct_json("PATCH", f"{vouchers_path(location)}/{voucher['unique_id']}", json={"voucher": {"access_period": 3000}})
    assert updated["access_period"] == 3000
    assert create(emu, location)["access_period"] is None
