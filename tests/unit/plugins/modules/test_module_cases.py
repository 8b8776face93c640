# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's main() against a scripted local API, case by case from ``cases/<module>.yml`` (format: module_cases.py)."""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules import module_cases
from ansible_collections.ctcloud.cloud.tests.unit.plugins.modules.module_runner import run_main

CASES = module_cases.all_cases()


def main_of(module: str):
    return importlib.import_module(f"ansible_collections.ctcloud.cloud.plugins.modules.{module}").main


@pytest.mark.parametrize(("module", "cloud", "case"), CASES, ids=[f"{module}-{case['id']}" for module, _cloud, case in CASES])
def test_case(capsys, monkeypatch, tmp_path, module, cloud, case):
    module_cases.quiet(monkeypatch)
    main = main_of(module)
    with module_cases.CaseServer(case.get("replies") or [], cloud) as server:
        connection = server.connection(cloud, str(tmp_path / "tokens.json"))
        earlier = []
        for before in case.get("before") or []:
            earlier.append(run_main(main, capsys, {**connection, **before}))
            assert not earlier[-1].get("failed"), f"before[{len(earlier) - 1}] failed: {earlier[-1].get('msg')}"
        since = module_cases.mark(server)
        result = run_main(main, capsys, {**connection, **module_cases.fill(case.get("input") or {}, earlier)})
        module_cases.check(case, result, server, since)


def test_every_module_has_a_cases_file_and_every_file_a_module():
    files = [path.stem for path in module_cases.case_files()]
    assert files == module_cases.module_names(), "cases/<module>.yml: one per module in plugins/modules, no other"


@pytest.mark.parametrize("module", module_cases.module_names())
def test_every_module_has_the_kinds_of_case_it_needs(module):
    """Bad input that sends nothing, check mode, and a diff where the module supports diff mode."""
    path = module_cases.CASES_DIR / f"{module}.yml"
    assert path.exists(), f"{module}: no cases/{module}.yml"
    cases = module_cases.load(path)["cases"]
    documentation = yaml.safe_load(importlib.import_module(f"ansible_collections.ctcloud.cloud.plugins.modules.{module}").DOCUMENTATION)
    diff_support = documentation.get("attributes", {}).get("diff_mode", {}).get("support", "none")  # info modules: a fragment says none
    assert any(case.get("sends_nothing") for case in cases), f"{module}: no bad-input case that sends nothing"
    assert any(module_cases.is_check_mode(case) for case in cases), f"{module}: no check-mode case"
    if diff_support != "none":
        assert any(module_cases.is_diff_mode(case) for case in cases), f"{module}: diff mode is supported, but no case runs it"


def test_an_unscripted_request_fails_the_case_naming_it(capsys, monkeypatch, tmp_path):
    module_cases.quiet(monkeypatch)
    case = {"id": "unscripted", "input": {"id": "1001"}, "output": {"changed": False}}
    with module_cases.CaseServer([], "ct") as server:
        since = module_cases.mark(server)
        result = run_main(main_of("ct_location_info"), capsys, server.connection("ct", str(tmp_path / "tokens.json")) | case["input"])
        with pytest.raises(module_cases.CaseError, match=r"does not answer: GET /locations/1001 \(add a reply"):
            module_cases.check(case, result, server, since)


def test_a_write_the_case_did_not_expect_fails_it(capsys, monkeypatch, tmp_path):
    module_cases.quiet(monkeypatch)
    replies = [{"request": "GET /boxes/ap-one", "body": {"slug": "ap-one", "state": "online", "is_online": True, "allowed_job": True}},
               {"request": "PATCH /boxes/ap-one", "body": {"slug": "ap-one", "state": "rebooting", "is_online": False}}]
    case = {"id": "unexpected-write", "input": {"slug": ["ap-one"], "wait": False}, "replies": replies, "output": {"changed": True}}
    with module_cases.CaseServer(replies, "ct") as server:
        since = module_cases.mark(server)
        result = run_main(main_of("ct_box_reboot"), capsys, server.connection("ct", str(tmp_path / "tokens.json")) | case["input"])
        with pytest.raises(module_cases.CaseError, match=r"writes: expected \[\], sent \['PATCH /boxes/ap-one'\]"):
            module_cases.check(case, result, server, since)
