# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.ctcloud.cloud.plugins.plugin_utils import records_cache

RECORDS = [{"id": "1", "name": "Emoji 🌡️ Sensor", "nested": {"a": [1, None, True]}}, {"id": "2", "name": "東京"}]


def test_records_round_trip_exactly():
    value = records_cache.encode(RECORDS)
    assert records_cache.decode(json.loads(json.dumps(value))) == RECORDS


def test_the_cached_value_is_cheap_to_copy_and_ascii():
    value = records_cache.encode(RECORDS)
    assert isinstance(value["records"], str) and value["records"].isascii()
    assert copy.deepcopy(value)["records"] is value["records"]
    assert value["count"] == 2


@pytest.mark.parametrize("junk", [None, [], {"format": 2, "records": "[]"}, {"format": 1, "records": "{"}, {"format": 1, "records": "[1]"}, {"x": 1}])
def test_values_that_are_not_ours_read_as_a_miss(junk):
    assert records_cache.decode(junk) is None


def test_the_key_changes_with_the_query_and_not_with_its_order():
    a = records_cache.cache_key("base", {"api_url": "u", "type": None, "entity": "e"})
    b = records_cache.cache_key("base", {"entity": "e", "type": None, "api_url": "u"})
    c = records_cache.cache_key("base", {"api_url": "u", "type": "energy_meter", "entity": "e"})
    assert a == b != c
    assert a.startswith("base_")
