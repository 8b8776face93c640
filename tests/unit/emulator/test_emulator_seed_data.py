"""Seed data at realistic sizes: deterministic and varied the way real accounts are.

How long seeding takes is printed, not asserted: speed is the benchmark's business (tests/benchmark),
and a bound on wall time fails on a busy 2-core machine.
"""

from __future__ import annotations

import collections
import ipaddress
import re
import time

import pytest
from ctcloud_emulator.clock import FIXED_EPOCH
from ctcloud_emulator.credentials import Credentials
from ctcloud_emulator.devices import DEVICE_TYPES, DeviceCatalog
from ctcloud_emulator.seed_data import generate_ct_seed


@pytest.fixture(scope="module")
def large_seed():
    started = time.perf_counter()
    ct_seed = generate_ct_seed(1, 1000, 2000)
    catalog = DeviceCatalog.generate(1, 10_000)
    return ct_seed, catalog, time.perf_counter() - started


def test_the_largest_documented_sizes_are_seeded_in_full(large_seed, capsys):
    ct_seed, catalog, seconds = large_seed
    with capsys.disabled():
        print(f"\nseeding 1,000 locations + 2,000 boxes + 10,000 devices: {seconds:.2f} s")
    assert (len(ct_seed.locations), len(ct_seed.boxes), len(catalog.devices)) == (1000, 2000, 10_000)


def test_same_seed_same_data_other_seed_other_data():
    assert generate_ct_seed(9, 20, 40) == generate_ct_seed(9, 20, 40)
    assert DeviceCatalog.generate(9, 50).json_texts == DeviceCatalog.generate(9, 50).json_texts
    assert generate_ct_seed(9, 20, 40).locations != generate_ct_seed(10, 20, 40).locations


def test_growing_one_kind_leaves_the_others_unchanged():
    small, large = generate_ct_seed(3, 10, 5), generate_ct_seed(3, 10, 50)
    assert small.locations[0]["location_name"] == large.locations[0]["location_name"]
    assert [v["unique_id"] for v in small.vouchers] == [v["unique_id"] for v in large.vouchers]


def test_location_names_are_unique_and_within_the_length_rules(large_seed):
    names = [location["location_name"] for location in large_seed[0].locations]
    assert len(set(names)) == len(names) == 1000
    assert all(5 <= len(name) <= 100 for name in names)


def test_timestamps_derive_from_the_fixed_epoch(large_seed):
    ct_seed = large_seed[0]
    assert all(location["created_at"] <= location["updated_at"] <= FIXED_EPOCH for location in ct_seed.locations)
    assert all(box["created_at"] <= FIXED_EPOCH for box in ct_seed.boxes)


def test_boxes_are_mostly_online_with_both_mac_spellings_and_only_loopback_addresses(large_seed):
    boxes = large_seed[0].boxes
    states = collections.Counter(box["state"] for box in boxes)
    assert states["online"] > 0.75 * len(boxes)
    assert states["offline"] and states["splash_only"] and states["new"]
    assert len({box["calledstationid"] for box in boxes}) == len(boxes)
    spellings = collections.Counter("-" if "-" in box["calledstationid"] else ":" for box in boxes)
    assert spellings["-"] > 100 and spellings[":"] > 100
    with_ips = [box for box in boxes if box["public_ip"]]
    assert len(with_ips) > 0.9 * len(boxes)
    assert all(box["wan_ip"] for box in with_ips)
    # A play that connects to ct_boxes inventory hosts by mistake must only ever reach this machine.
    addresses = [ipaddress.ip_address(box[name]) for box in with_ips for name in ("wan_ip", "public_ip")]
    assert all(address.is_loopback for address in addresses)
    assert len({box["wan_ip"] for box in with_ips}) > 0.99 * len(with_ips)


def test_devices_have_the_documented_mix(large_seed):
    devices = large_seed[1].devices
    count = len(devices)

    def share(predicate):
        return sum(1 for device in devices if predicate(device)) / count

    assert {device["type"]["key"] for device in devices} == set(DEVICE_TYPES)
    assert len({device["entity"]["id"] for device in devices}) == 6
    assert len({device["manufacturer"]["id"] for device in devices}) == 4
    assert 2 <= len({device["provider"]["id"] for device in devices}) <= 3
    assert 0.80 < share(lambda device: device["connection"]["status"]) < 0.90
    assert 0.92 < share(lambda device: device["active"]) < 0.98
    assert 0.01 < share(lambda device: device["isTest"]) < 0.03
    assert all(re.fullmatch(r"[0-9A-F]{16}", device["node"]["serial"]) for device in devices)
    assert len({device["id"] for device in devices}) == count


def test_device_names_collide_and_include_odd_characters(large_seed):
    names = collections.Counter(device["name"] for device in large_seed[1].devices)
    assert sum(1 for times in names.values() if times > 1) > 50
    assert any(not name.isascii() for name in names)
    assert any(name != name.strip() for name in names)


def test_credentials_have_the_vendors_shapes():
    credentials = Credentials.from_seed(1)
    assert re.fullmatch(r"[0-9a-f]{64}", credentials.ct_client_id)
    assert re.fullmatch(r"[0-9a-f]{64}", credentials.ct_client_secret)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", credentials.cthings_client_id)
    assert re.fullmatch(r"[A-Za-z0-9]{24,}", credentials.cthings_client_secret)
    assert Credentials.from_seed(1) == credentials != Credentials.from_seed(2)
