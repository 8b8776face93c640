# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import random
import re

import pytest

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.hostnames import (
    MAX_LENGTH,
    assign_hostnames,
    check_preferences,
    safe_hostname,
    short_id,
)

SAFE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("Boiler Room Energy Meter", "boiler-room-energy-meter"),
        (" Reception sensor ", "reception-sensor"),
        ("Lobby  counter", "lobby-counter"),
        ("O'Brien's Café \u2013 Temp", "o-brien-s-cafe-temp"),
        ("Zone A/B: CO₂", "zone-a-b-co2"),
        ("Meter #12 & #13", "meter-12-13"),
        ('Quote "Main" meter', "quote-main-meter"),
        ("Back\\slash probe", "back-slash-probe"),
        ("Emoji 🌡️ Sensor", "emoji-sensor"),
        ("Ñandú Room Sensor", "nandu-room-sensor"),
        ("Plant-Room/Meter 1", "plant-room-meter-1"),
        ("web[1:3],db*!~&", "web-1-3-db"),
        ("snake_case.name", "snake-case-name"),
        ("東京", ""),
        ("---", ""),
        ("", ""),
        (None, ""),
        (True, ""),
        ({"a": 1}, ""),
        (12345, "12345"),
    ],
)
def test_safe_hostname_folds_to_pattern_safe_ascii(raw, safe):
    assert safe_hostname(raw) == safe
    assert safe == "" or SAFE.match(safe)


def test_safe_hostname_is_at_most_a_dns_label():
    name = safe_hostname("x" * 60 + " " + "y" * 60)
    assert len(name) <= MAX_LENGTH and not name.endswith("-")


def test_short_id_is_the_first_uuid_block_or_a_short_id_whole():
    assert short_id("0f8fad5b-d9cb-469f-a165-70867728950e") == "0f8fad5b"
    assert short_id("100042") == "100042"


def rec(number, name, **extra):
    return dict({"id": f"{number:08x}-0000-4000-8000-{number:012x}", "name": name}, **extra)


def by_id(record):
    return record["id"]


def test_first_usable_preference_wins_then_the_id():
    records = [
        rec(1, "Kitchen", node={"serial": "AB01"}),
        rec(2, "東京", node={"serial": "AB02"}),  # name folds to nothing
        rec(3, None, node=None),
        rec(4, "  ", node={"serial": ""}),
    ]
    assert assign_hostnames(records, ["name", "node.serial"], by_id) == [
        "kitchen",
        "ab02",
        "00000003-0000-4000-8000-000000000003",
        "00000004-0000-4000-8000-000000000004",
    ]


def test_every_record_sharing_a_name_gets_its_id_appended():
    records = [rec(1, "Kitchen"), rec(2, "kitchen "), rec(3, "KITCHEN"), rec(4, "Lobby")]
    assert assign_hostnames(records, ["name"], by_id) == ["kitchen-00000001", "kitchen-00000002", "kitchen-00000003", "lobby"]


def test_names_do_not_depend_on_the_order_of_the_reply():
    records = [rec(n, f"Sensor {n % 7}") for n in range(1, 200)] + [rec(500, "sensor-1-00000001")]
    expected = dict(zip((r["id"] for r in records), assign_hostnames(records, ["name"], by_id), strict=True))
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    assert dict(zip((r["id"] for r in shuffled), assign_hostnames(shuffled, ["name"], by_id), strict=True)) == expected


def test_names_are_unique_even_when_a_suffixed_name_is_someone_elses_plain_name():
    records = [rec(1, "Kitchen"), rec(2, "Kitchen"), rec(3, "kitchen-00000001")]
    names = assign_hostnames(records, ["name"], by_id)
    assert len(set(names)) == 3
    assert names[2] == "kitchen-00000001"  # the plain unique name keeps its name
    assert names[0] == "kitchen-00000001-0000-4000-8000-000000000001"


def test_reserved_host_names_are_disambiguated():
    records = [rec(1, "All"), rec(2, "localhost"), rec(3, "ungrouped")]
    assert assign_hostnames(records, ["name"], by_id) == ["all-00000001", "localhost-00000002", "ungrouped-00000003"]


def test_duplicate_ids_still_give_unique_names():
    records = [{"id": "7", "name": "x"}, {"id": "7", "name": "x"}, {"id": "7", "name": "x"}]
    names = assign_hostnames(records, ["name"], lambda r: r["id"])
    assert len(set(names)) == 3


def test_ten_thousand_records_with_few_names_stay_unique_and_safe():
    records = [rec(n, f"Temperature Sensor {n % 60}") for n in range(10000)]
    names = assign_hostnames(records, ["name", "id"], by_id)
    assert len(set(names)) == 10000
    assert all(SAFE.match(name) and len(name) <= MAX_LENGTH for name in names)


@pytest.mark.parametrize("bad", [[], "", 5, ["name", ""], ["a b"], ["name..x"], [{"name": 1}]])
def test_check_preferences_rejects_what_is_not_a_list_of_fields(bad):
    with pytest.raises(ValueError, match="hostnames"):
        check_preferences(bad)


def test_check_preferences_accepts_one_field_or_dotted_paths():
    assert check_preferences("name") == ["name"]
    assert check_preferences(["node.serial", "id"]) == ["node.serial", "id"]
