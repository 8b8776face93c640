"""cThings API: the envelope everywhere, devices (v3 and v2), filters, links, readings (v2 only)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from emulator_testing import TEST_SEED

ENVELOPE_KEYS = {"api", "code", "data", "links", "message", "request", "websocket", "version"}
DEVICE_FIELDS = {
    "id", "device", "name", "settings", "type", "active", "connection", "ingest", "provider", "manufacturer", "entity",
    "node", "watchlist", "servicePoint", "timeBinKey", "dataInterval", "liveAt", "isTest", "location", "configuration",
    "downlinkProtocol", "tasks", "createdAt",
}
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def assert_envelope(response, status):
    assert response.status_code == status
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert (body["api"], body["code"], body["websocket"], body["version"]) == ("cThings Cloud API", status, False, "3.13.1")
    assert body["request"]["url"] == response.request.url
    assert body["request"]["method"] == response.request.method
    assert body["request"]["body"] == {}
    if status >= 400:
        assert body["data"] is None
        assert isinstance(body["message"], str) and body["message"]
    else:
        assert body["message"] is None
    return body


def all_devices(emu, **filters):
    """Follow links.next from the first page, as the contract tells clients to."""
    devices, url, pages = [], "/v3/device", 0
    params = {"limit": 40, **filters}
    while url:
        body = assert_envelope(emu.cthings_get(url, params=params), 200)
        devices += body["data"]
        url, params = body["links"]["next"], None
        pages += 1
        assert pages < 100
    return devices


def test_one_device_in_the_envelope_with_the_seed_fields(emu):
    device_id = all_devices(emu)[0]["id"]
    for version in ("v3", "v2"):
        body = assert_envelope(emu.cthings_get(f"/{version}/device/{device_id}"), 200)
        device = body["data"]
        assert set(device) == DEVICE_FIELDS
        assert body["links"] == {}
        assert device["id"] == device_id
        assert re.fullmatch(r"[0-9A-F]{16}", device["node"]["serial"])
        assert ISO_Z.fullmatch(device["createdAt"]) and ISO_Z.fullmatch(device["connection"]["lastConnected"])
        assert set(device["type"]) == {"id", "key", "type"}


def test_following_links_next_returns_every_device_exactly_once(emu):
    devices = all_devices(emu)
    ids = [device["id"] for device in devices]
    assert len(ids) == len(set(ids)) == TEST_SEED.devices


def test_links_are_absolute_and_keep_filters_and_limit(emu):
    entity = all_devices(emu)[0]["entity"]["id"]
    body = assert_envelope(emu.cthings_get("/v3/device", params={"page": 2, "limit": 5, "entity": entity, "active": "true"}), 200)
    links = body["links"]
    assert set(links) == {"self", "first", "prev", "next", "last"}
    for name in ("self", "first", "prev", "next", "last"):
        parts = urlsplit(links[name])
        assert parts.scheme == "http" and parts.netloc.startswith("127.0.0.1:")
        query = parse_qs(parts.query)
        assert (query["limit"], query["entity"], query["active"]) == (["5"], [entity], ["true"])
    assert parse_qs(urlsplit(links["self"]).query)["page"] == ["2"]
    assert parse_qs(urlsplit(links["prev"]).query)["page"] == ["1"]
    assert parse_qs(urlsplit(links["next"]).query)["page"] == ["3"]


def test_first_page_has_no_prev_and_last_page_has_no_next(emu):
    first = assert_envelope(emu.cthings_get("/v3/device", params={"limit": 100}), 200)
    assert first["links"]["prev"] is None
    last = assert_envelope(emu.cthings_get(first["links"]["last"]), 200)
    assert last["links"]["next"] is None
    assert len(last["data"]) == TEST_SEED.devices - 200


def test_default_limit_is_25_and_limit_is_clamped_to_1000(emu):
    assert len(assert_envelope(emu.cthings_get("/v3/device"), 200)["data"]) == 25
    clamped = assert_envelope(emu.cthings_get("/v3/device", params={"limit": 5000}), 200)
    assert len(clamped["data"]) == TEST_SEED.devices
    assert parse_qs(urlsplit(clamped["links"]["self"]).query)["limit"] == ["1000"]


@pytest.mark.parametrize(("name", "pick"), [
    ("entity", lambda device: device["entity"]["id"]),
    ("type", lambda device: device["type"]["key"]),
])
def test_filters_by_entity_and_type(emu, name, pick):
    everything = all_devices(emu)
    value = pick(everything[0])
    filtered = all_devices(emu, **{name: value})
    assert filtered == [device for device in everything if pick(device) == value]


def test_filter_by_active(emu):
    everything = all_devices(emu)
    inactive = all_devices(emu, active="false")
    assert inactive and all(device["active"] is False for device in inactive)
    assert len(inactive) + len(all_devices(emu, active="true")) == len(everything)


def test_seed_has_duplicate_and_odd_device_names(emu):
    names = [device["name"] for device in all_devices(emu)]
    assert len(set(names)) < len(names)
    assert any(name != name.strip() or "  " in name or not name.isascii() for name in names)


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "-1"}, {"page": "two"}, {"active": "yes"}, {"entity": "not-a-uuid"}])
def test_bad_list_parameters_are_422_in_the_envelope(emu, params):
    assert_envelope(emu.cthings_get("/v3/device", params=params), 422)


def test_unknown_device_and_unknown_path_are_404_in_the_envelope(emu):
    assert_envelope(emu.cthings_get("/v3/device/00000000-0000-4000-8000-000000000000"), 404)
    assert_envelope(emu.cthings_get("/v3/nothing"), 404)
    assert_envelope(emu.session.get(f"{emu.cthings['api_url']}/v9/device"), 404)


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer abc.def.ghi", "Bearer garbage", "Basic abc"])
def test_missing_or_bad_token_is_401_in_the_envelope(emu, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    assert_envelope(emu.session.get(f"{emu.cthings['api_url']}/v3/device", headers=headers), 401)


def test_token_signed_with_another_key_is_401(emu):
    header, claims, signature = emu.cthings_token().split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"
    assert_envelope(emu.cthings_get("/v3/device", token=forged), 401)


def readings_path(emu, version="v2"):
    return f"/{version}/device/{all_devices(emu)[0]['id']}/readings"


def test_v2_readings_have_the_webhook_shape_and_page_like_devices(emu):
    path = readings_path(emu)
    window = {"from": "2024-03-01T00:00:00", "to": "2024-03-02T00:00:00"}
    body = assert_envelope(emu.cthings_get(path, params={**window, "limit": 10}), 200)
    readings = body["data"]
    assert len(readings) == 10
    first = readings[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", first["dtm"])
    assert first["dtm"] >= window["from"]
    measurement = next(iter(first["data"].values()))
    assert set(measurement) == {"description", "unit", "value", "primary", "typeId"}
    assert sum(m["primary"] for m in first["data"].values()) == 1
    collected, url, params = [], path, {**window, "limit": 10}
    while url:
        page = assert_envelope(emu.cthings_get(url, params=params), 200)
        collected += page["data"]
        url, params = page["links"]["next"], None
    stamps = [reading["dtm"] for reading in collected]
    assert stamps == sorted(set(stamps)) and all(window["from"] <= stamp < window["to"] for stamp in stamps)
    assert assert_envelope(emu.cthings_get(path, params={**window, "limit": 10}), 200)["data"] == readings  # deterministic


@pytest.mark.parametrize("window", [
    {},
    {"from": "2024-03-01T00:00:00"},
    {"from": "2024-03-01", "to": "2024-03-02"},
    {"from": "2024-03-01T00:00:00Z", "to": "2024-03-02T00:00:00Z"},
    {"from": "2024-03-02T00:00:00", "to": "2024-03-01T00:00:00"},
    {"from": "2024-01-01T00:00:00", "to": "2024-02-02T00:00:00"},
])
def test_bad_reading_windows_are_422(emu, window):
    assert_envelope(emu.cthings_get(readings_path(emu), params=window), 422)


def test_readings_are_not_in_v3(emu):
    body = assert_envelope(emu.cthings_get(readings_path(emu, "v3"), params={"from": "2024-03-01T00:00:00", "to": "2024-03-02T00:00:00"}), 404)
    assert body["data"] is None
