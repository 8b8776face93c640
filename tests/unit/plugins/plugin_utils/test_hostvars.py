# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.inventory.ct_boxes import BOX_HOSTVARS
from ansible_collections.ctcloud.cloud.plugins.inventory.cthings import DEVICE_HOSTVARS
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.hostvars import HostvarTable, reserved_names
from ansible_collections.ctcloud.cloud.plugins.plugin_utils.record_fields import dotted, path

FIELDS = {"name": path("name"), "serial": path("node", "serial"), "deep": dotted("a.b.c")}


def test_prefix_and_suffix_wrap_every_table_name_but_not_fixed_or_per_record_ones():
    table = HostvarTable(FIELDS, prefix="dev_", suffix="_v", fixed={"ansible_connection": "local"}, per_record={"ansible_host": path("ip")})
    assert table.build({"name": "x", "node": {"serial": "S"}, "a": {"b": {"c": 3}}, "ip": "127.0.0.9"}) == {
        "ansible_connection": "local",
        "ansible_host": "127.0.0.9",
        "dev_name_v": "x",
        "dev_serial_v": "S",
        "dev_deep_v": 3,
    }


def test_missing_or_odd_nested_fields_read_as_none_and_null_per_record_vars_are_left_out():
    table = HostvarTable(FIELDS, prefix="d_", per_record={"ansible_host": path("ip")})
    assert table.build({"node": None, "a": {"b": "not a dict"}, "ip": None}) == {"d_name": None, "d_serial": None, "d_deep": None}


def test_allow_list_keeps_only_the_named_variables_in_table_order():
    table = HostvarTable(FIELDS, prefix="d_", allow=["deep", "name", "deep"])
    assert list(table.build({"name": "x"})) == ["d_deep", "d_name"]


def test_unknown_allow_list_entries_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown host variables 'nmae'; known are: deep, name, serial"):
        HostvarTable(FIELDS, allow=["nmae"])


@pytest.mark.parametrize(("prefix", "suffix"), [("", ""), ("", "_"), ("x-", ""), ("", "-x"), ("1", "")])
def test_names_that_are_reserved_or_invalid_are_refused(prefix, suffix):
    with pytest.raises(ValueError, match="hostvars_prefix/hostvars_suffix make"):
        HostvarTable({"name": path("name"), "serial": path("s"), "x": path("x")}, prefix=prefix, suffix=suffix,
                     reserved=frozenset(("name", "serial", "name_")))


def test_python_keywords_are_refused():
    with pytest.raises(ValueError, match="not a valid variable name"):
        HostvarTable({"class": path("c")}, prefix="")


def test_ansible_core_reserved_names_include_the_ones_that_warn():
    reserved = reserved_names()
    assert {"name", "serial", "tags", "environment"} <= reserved


@pytest.mark.parametrize("table", [DEVICE_HOSTVARS, BOX_HOSTVARS])
def test_the_plugins_default_names_are_never_reserved(table):
    reserved = reserved_names()
    for prefix in ("cthings_", "ct_box_"):
        built = HostvarTable(table, prefix=prefix)
        assert not set(built.names.values()) & reserved
