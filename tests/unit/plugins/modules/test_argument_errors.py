# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad arguments fail with a message that names the option, before any client is built."""

from __future__ import annotations

import pytest

from ansible_collections.ctcloud.cloud.plugins.module_utils import module_base
from ansible_collections.ctcloud.cloud.plugins.modules import ct_locations
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

SITE = {"name": "Shop", "address": "1 Street"}


@pytest.fixture(autouse=True)
def no_client(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a client was built for arguments that should have been refused")

    monkeypatch.setattr(module_base.CtClient, "build", refuse)


@pytest.mark.parametrize("locations", [["Shop"], [SITE, "Other shop"], [3], "not a list of dicts"])
def test_a_list_of_dicts_holding_something_else_names_the_option(capsys, locations):
    result = run_main(ct_locations.main, capsys, {"locations": locations, "client_id": "id", "access_token": "token"})
    assert result["failed"] is True
    assert "'locations'" in result["msg"], result["msg"]
    assert "dict" in result["msg"]


def test_an_unknown_entry_option_is_still_reported_as_unsupported(capsys):
    result = run_main(ct_locations.main, capsys, {"locations": [{**SITE, "colour": "red"}], "access_token": "token"})
    assert result["failed"] is True
    assert "colour" in result["msg"] and "Unsupported parameters" in result["msg"], result["msg"]


def test_a_valid_list_is_not_refused_by_the_argument_check(capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(module_base.CtCloudModule, "run", lambda self, action: calls.append(self.params["locations"]) or self.module.exit_json(changed=False))
    result = run_main(ct_locations.main, capsys, {"locations": [SITE], "access_token": "token"})
    assert "failed" not in result, result
    assert calls and calls[0][0]["name"] == "Shop"
