# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, item 5: bad input fails with a message naming the field, before any HTTP request.

One table, one playbook run: every case is a host of its own (so the cases run in
parallel), calling its module with the connection options of a fresh emulator.
Asserted: every case fails with a message that names the field (a regular
expression per case), without a Python traceback; afterwards the emulator has
counted 0 requests on all four hosts (so no token request either), 0 writes, and
its state is unchanged. Cases of modules that have not landed are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from ctsystem.ansible_run import Ansible, case_result, one_case_per_host_playbook, write_case_inventory
from ctsystem.collection import has_module, present_modules
from ctsystem.emulator import Emulator
from ctsystem.evidence import comparable_state


@dataclass(frozen=True)
class Case:
    module: str
    label: str
    args: dict[str, Any]
    names: str  # a regular expression the message must match: the field, as the user wrote it

    @property
    def host(self) -> str:
        return f"case-{CASES.index(self) + 1:02d}"


SITE = {"name": "Valid Shop Name", "address": "1 Valid Street", "town": "Validtown", "postcode": "VA1 1AA", "country": "gb"}
BATCH = {"location": "1001", "batch_name": "Valid batch", "description": "Valid", "quantity": 10, "access_type": "time",
         "validity_minutes": 60, "session_timeout": 30, "code_length": 6, "splash_page_id": "external"}
DEVICE = "0f8fad5b-d9cb-469f-a165-70867728950e"

CASES = [
    # ct_location: coordinates, names, lengths, ids, choices, types, unknown options
    Case("ct_location", "latitude above 90", {**SITE, "latitude": 91}, r"\blatitude\b"),
    Case("ct_location", "latitude below -90", {**SITE, "latitude": -90.5}, r"\blatitude\b"),
    Case("ct_location", "longitude above 180", {**SITE, "longitude": 180.5}, r"\blongitude\b"),
    Case("ct_location", "longitude not a number", {**SITE, "longitude": "east"}, r"\blongitude\b"),
    Case("ct_location", "latitude NaN", {**SITE, "latitude": "nan"}, r"\blatitude\b"),
    Case("ct_location", "empty name", {**SITE, "name": ""}, r"\bname\b"),
    Case("ct_location", "whitespace name", {**SITE, "name": "   "}, r"\bname\b"),
    Case("ct_location", "name too short", {**SITE, "name": "Shop"}, r"\bname\b.*\b5\b"),
    # 255 is the longest name even for a location that exists (CT's settings form); 100 applies only to a create.
    Case("ct_location", "name too long", {**SITE, "name": "x" * 256}, r"\bname\b.*\b255\b"),
    Case("ct_location", "non-ASCII name too long, counted in characters", {**SITE, "name": "é" * 256}, r"\bname\b.*got 256"),
    Case("ct_location", "non-ASCII name too short", {**SITE, "name": "Çé"}, r"\bname\b.*got 2"),
    Case("ct_location", "blank postcode", {**SITE, "postcode": "  "}, r"\bpostcode\b"),
    Case("ct_location", "postcode too long", {**SITE, "postcode": "P" * 256}, r"\bpostcode\b.*\b255\b"),
    Case("ct_location", "country not a two-letter code", {**SITE, "country": "United Kingdom"}, r"\bcountry\b"),
    Case("ct_location", "malformed id", {"id": "Not A Slug!", "name": "Valid Shop Name"}, r"\bid\b"),
    Case("ct_location", "unknown state", {**SITE, "state": "deleted"}, r"\bstate\b"),
    Case("ct_location", "unknown option", {**SITE, "colour": "red"}, r"\bcolour\b"),
    Case("ct_location", "daily_limit not a boolean", {**SITE, "daily_limit": "maybe"}, r"\bdaily_limit\b"),
    Case("ct_location", "neither id nor name", {"address": "1 Valid Street"}, r"\bid\b.*\bname\b"),
    # ct_locations: the whole list is checked first
    Case("ct_locations", "duplicate names", {"locations": [SITE, SITE]}, r"locations\[1\]\.name"),
    Case("ct_locations", "duplicate names up to surrounding spaces", {"locations": [SITE, {**SITE, "name": "  Valid Shop Name "}]},
         r"locations\[1\]\.name"),
    Case("ct_locations", "one bad entry among good ones",
         {"locations": [SITE, {**SITE, "name": "Café Zürich Ünïcode"}, {**SITE, "name": "Third Valid Shop", "latitude": 200}]},
         r"1 invalid location entry.*locations\[2\]\.latitude"),
    Case("ct_locations", "entry without name or id", {"locations": [{"address": "1 Valid Street"}]}, r"locations\[0\] needs a name"),
    Case("ct_locations", "duplicate ids", {"locations": [{"id": "1001", "phone": "1"}, {"id": "1001", "phone": "2"}]}, r"locations\[1\]\.id"),
    Case("ct_locations", "unknown purge", {"locations": [SITE], "purge": "yes"}, r"\bpurge\b"),
    Case("ct_locations", "purge_max_share above 1", {"locations": [SITE], "purge": "archive", "purge_max_share": 1.5}, r"\bpurge_max_share\b"),
    Case("ct_locations", "purge_max_share negative", {"locations": [SITE], "purge": "delete", "purge_max_share": -0.1}, r"\bpurge_max_share\b"),
    Case("ct_locations", "unknown entry option", {"locations": [{**SITE, "colour": "red"}]}, r"\bcolour\b"),
    Case("ct_locations", "locations a list of names, not of dicts", {"locations": ["Valid Shop Name"]}, r"\blocations\b"),
    Case("ct_locations", "locations a dict, not a list", {"locations": SITE}, r"\blocations\b"),
    # ct_location_info
    Case("ct_location_info", "malformed id", {"id": "12 34"}, r"\bid\b"),
    Case("ct_location_info", "empty name", {"name": ""}, r"\bname\b"),
    # cthings_device_info
    Case("cthings_device_info", "id not a UUID", {"id": "not-a-uuid"}, r"\bid\b.*UUID"),
    Case("cthings_device_info", "id one character short", {"id": DEVICE[:-1]}, r"\bid\b.*UUID"),
    Case("cthings_device_info", "readings from after to", {"id": DEVICE, "readings": True, "from": "2023-11-02T00:00:00",
                                                           "to": "2023-11-01T00:00:00"}, r"\bfrom\b"),
    Case("cthings_device_info", "readings window over 31 days", {"id": DEVICE, "readings": True, "from": "2023-10-01T00:00:00",
                                                                 "to": "2023-11-05T00:00:00"}, r"\b31\b"),
    Case("cthings_device_info", "malformed from", {"id": DEVICE, "readings": True, "from": "yesterday", "to": "2023-11-01T00:00:00"},
         r"\bfrom\b"),
    Case("cthings_device_info", "active not a boolean", {"active": "sometimes"}, r"\bactive\b"),
    Case("cthings_device_info", "id with a listing filter", {"id": DEVICE, "entity": DEVICE}, r"\bid\b.*\bentity\b"),
    # ct_voucher
    Case("ct_voucher", "quantity 0", {**BATCH, "quantity": 0}, r"\bquantity\b"),
    Case("ct_voucher", "quantity 100000", {**BATCH, "quantity": 100000}, r"\bquantity\b"),
    Case("ct_voucher", "quantity not a number", {**BATCH, "quantity": "ten"}, r"\bquantity\b"),
    Case("ct_voucher", "unknown access_type", {**BATCH, "access_type": "forever"}, r"\baccess_type\b"),
    Case("ct_voucher", "validity_minutes below 5", {**BATCH, "validity_minutes": 4}, r"\bvalidity_minutes\b"),
    Case("ct_voucher", "empty batch_name", {**BATCH, "batch_name": ""}, r"\bbatch_name\b"),
    Case("ct_voucher", "code_length 5", {**BATCH, "code_length": 5}, r"\bcode_length\b"),
    Case("ct_voucher", "splash_page_id neither digits nor external", {**BATCH, "splash_page_id": "home page"}, r"\bsplash_page_id\b"),
    Case("ct_voucher", "malformed id", {**BATCH, "id": "x y z"}, r"\bid\b"),
    Case("ct_voucher", "validity_minutes on a data batch", {**BATCH, "access_type": "data", "data_limit_mb": 100}, r"\bvalidity_minutes\b"),
    Case("ct_voucher", "session longer than validity", {**BATCH, "session_timeout": 90}, r"\bsession_timeout\b"),
    Case("ct_voucher", "access_period without single-use codes", {**BATCH, "access_period": 60}, r"\baccess_period\b.*restrict_period: all"),
    Case("ct_voucher", "access_period above 43201", {**BATCH, "restrict_period": "all", "access_period": 50000}, r"\baccess_period\b"),
    Case("ct_voucher", "whitespace location", {**BATCH, "location": "   "}, r"\blocation\b"),
    # ct_voucher_info
    Case("ct_voucher_info", "malformed id", {"location": "1001", "id": "not hex!"}, r"\bid\b"),
    Case("ct_voucher_info", "empty location", {"location": ""}, r"\blocation\b"),
    # ct_box_reboot
    Case("ct_box_reboot", "MAC with non-hex digits", {"mac": ["zz:zz:zz:zz:zz:zz"]}, r"\bmac\b"),
    Case("ct_box_reboot", "MAC with five octets", {"mac": ["00:11:22:33:44"]}, r"\bmac\b"),
    Case("ct_box_reboot", "one bad MAC among good ones", {"mac": ["00:11:22:33:44:55", "00-11-22-33-44-5G"]}, r"\bmac\[1\]"),
    Case("ct_box_reboot", "malformed slug", {"slug": ["Bad Slug!"]}, r"\bslug\b"),
    Case("ct_box_reboot", "id not digits", {"id": ["12a"]}, r"\bid\b"),
    Case("ct_box_reboot", "batch_size 0", {"location": ["1001"], "batch_size": 0}, r"\bbatch_size\b"),
    Case("ct_box_reboot", "batch_size without waiting", {"location": ["1001"], "batch_size": 2, "wait": False}, r"\bbatch_size\b"),
    Case("ct_box_reboot", "no selection", {"wait": True}, r"\bslug\b.*\bmac\b"),
    # ct_box_info
    Case("ct_box_info", "malformed MAC", {"mac": "00-11-22-33-44-GG"}, r"\bmac\b"),
    Case("ct_box_info", "unknown state", {"state": "exploded"}, r"\bstate\b"),
    # ct_auth
    Case("ct_auth", "redirect_uri not https", {"redirect_uri": "http://localhost/callback"}, r"\bredirect_uri\b"),
    Case("ct_auth", "redirect_uri with a fragment", {"redirect_uri": "https://localhost/callback#here"}, r"\bredirect_uri\b"),
    # connection options, shared by every module
    Case("ct_location_info", "timeout not a number", {"timeout": "soon"}, r"\btimeout\b"),
    Case("cthings_device_info", "validate_certs not a boolean", {"validate_certs": "perhaps"}, r"\bvalidate_certs\b"),
]


def present_cases() -> list[Case]:
    return [case for case in CASES if has_module(case.module)]


def test_the_table_has_at_least_30_cases_of_landed_modules():
    assert len(present_cases()) >= 30
    assert len({case.label for case in CASES if case.module == "ct_location"}) == len([case for case in CASES if case.module == "ct_location"])


@pytest.fixture(scope="module")
def bad_input_run(tmp_path_factory):
    """The whole table in one ansible-playbook run against a fresh emulator (module scope: each case checks its own result)."""
    tmp_path = tmp_path_factory.mktemp("bad_input")
    emulator = Emulator(tmp_path / "emulator").start()
    try:
        before = comparable_state(emulator.state(devices=True))
        cases = present_cases()
        ansible = Ansible(tmp_path / "ansible")
        inventory = write_case_inventory(tmp_path / "cases.yml", {case.host: {"case_module": case.module, "case_args": case.args}
                                                                  for case in cases})
        playbook = tmp_path / "bad_input.yml"
        playbook.write_text(json.dumps(one_case_per_host_playbook([case.module for case in cases], "bad input"), indent=1), encoding="utf-8")
        store = tmp_path / "private" / "tokens.json"
        extra_vars = {"ct_conn": emulator.ct_connection(store), "cthings_conn": emulator.cthings_connection(store), "have": present_modules()}
        run = ansible.playbook(playbook, extra_vars, inventory=inventory, forks=8)
        yield run, emulator.stats(), before, comparable_state(emulator.state(devices=True)), store
    finally:
        emulator.stop()


def test_no_case_sent_a_request_or_wrote_anything(bad_input_run):
    run, stats, before, after, store = bad_input_run
    # "0 requests" means something only if every case ran and failed (and none slipped through to the API).
    assert sorted({result.host for result in run.failures()}) == sorted(case.host for case in present_cases()), run.describe()
    assert stats["total"] == 0, stats["requests"]
    assert stats["hosts"] == {"ct_auth": 0, "ct_api": 0, "cthings_auth": 0, "cthings_api": 0}
    assert stats["writes_total"] == 0
    assert after == before
    assert not store.exists()  # not even a token was needed


@pytest.mark.parametrize("case", [
    pytest.param(case, id=f"{case.module}: {case.label}") for case in CASES
])
def test_bad_input_fails_naming_the_field(case, bad_input_run):
    if not has_module(case.module):
        pytest.skip(f"{case.module} is not in the collection yet")
    result = case_result(bad_input_run[0], case.host)
    assert result.status == "failed", result.result
    assert result.python_traceback() is None
    message = result.msg
    assert message, result.result
    assert re.search(case.names, message), f"{message!r} does not name the field ({case.names})"
