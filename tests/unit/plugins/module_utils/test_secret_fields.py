# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret fields of API records are masked wherever a record is shown (issue 12, item 2)."""

from __future__ import annotations

import copy
import json

from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import REDACTED
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.secret_fields import (
    ALL_SECRET_FIELDS,
    SECRET_FIELDS,
    mask_secret_fields,
    mentions_secret_field,
)

LOCATION = {"id": "1001", "location_name": "Cafe", "meraki_secret": "0123456789abcdef", "lat": 50.8}


def test_the_contract_marks_meraki_secret_of_ct_and_nothing_of_cthings():
    assert {"ct": {"meraki_secret"}, "cthings": frozenset()} == SECRET_FIELDS
    assert {"meraki_secret"} == ALL_SECRET_FIELDS


def test_a_secret_is_masked_at_any_depth_and_the_input_is_left_alone():
    result = {"changed": True, "location": LOCATION, "locations": [LOCATION, dict(LOCATION, meraki_secret=None)],
              "diff": {"before": {"nested": {"meraki_secret": "other-secret-value"}}}}
    original = copy.deepcopy(result)
    masked = mask_secret_fields(result, SECRET_FIELDS["ct"])
    assert masked["location"] == dict(LOCATION, meraki_secret=REDACTED)
    assert masked["locations"][0]["meraki_secret"] == REDACTED
    assert masked["locations"][1]["meraki_secret"] is None  # unset stays visible as unset
    assert masked["diff"]["before"]["nested"]["meraki_secret"] == REDACTED
    assert "0123456789abcdef" not in json.dumps(masked) and "other-secret-value" not in json.dumps(masked)
    assert result == original


def test_data_without_secrets_is_returned_as_is_without_a_copy():
    data = {"devices": [{"id": "d", "connection": {"status": "online"}}], "changed": False}
    assert mask_secret_fields(data) is data
    assert mask_secret_fields(data, SECRET_FIELDS["cthings"]) is data


def test_a_json_text_is_searched_for_the_field_as_a_key():
    assert mentions_secret_field('[{"id":"1","meraki_secret":"x"}]')
    assert not mentions_secret_field('[{"id":"1","description":"no secret here"}]')
