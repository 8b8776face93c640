# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
from ansible import constants as C

from ansible_collections.ctcloud.cloud.plugins.plugin_utils.group_names import GroupNamer, check_prefix, group_value


@pytest.mark.parametrize(
    ("value", "folded"),
    [
        ("Acme Facilities", "acme_facilities"),
        ("Harbour Housing Trust", "harbour_housing_trust"),
        ("energy_meter", "energy_meter"),
        ("Ñandú & Co.", "nandu_co"),
        ("brighton-seafront-cafe-iajpng9akeztfqknmlfusw", "brighton_seafront_cafe_iajpng9akeztfqknmlfusw"),
        ("東京", ""),
        (None, ""),
        (True, "true"),
        (3, "3"),
        ({"x": 1}, ""),
    ],
)
def test_group_value_folds_to_lower_case_ascii_and_underscores(value, folded):
    assert group_value(value) == folded


def test_group_names_are_valid_ansible_group_names():
    namer = GroupNamer("cthings_")
    for value in ("Acme Facilities", "O'Brien's \u2013 Café", "3 Phase", "a" * 200):
        name = namer.name("entity", value)
        assert not C.INVALID_VARIABLE_NAMES.search(name), name


def test_a_value_with_nothing_left_falls_back_to_the_id_and_none_means_no_group():
    namer = GroupNamer("cthings_")
    assert namer.name("entity", "東京", "9b2e4c1a-0d3f-4e5a") == "cthings_entity_9b2e4c1a_0d3f_4e5a"
    assert namer.name("entity", None, None) is None
    assert namer.name("entity", ["unhashable"]) is None
    assert namer.plain("online") == "cthings_online"


def test_an_empty_prefix_still_gives_valid_names():
    assert GroupNamer("").name("type", "energy_meter") == "type_energy_meter"


@pytest.mark.parametrize("bad", ["9x", "a-b", "x y", 5])
def test_check_prefix_rejects_what_would_make_invalid_names(bad):
    with pytest.raises(ValueError, match="group_prefix"):
        check_prefix(bad)


def test_check_prefix_accepts_empty_and_identifier_like():
    assert check_prefix(None) == ""
    assert check_prefix("") == ""
    assert check_prefix("_iot_") == "_iot_"
