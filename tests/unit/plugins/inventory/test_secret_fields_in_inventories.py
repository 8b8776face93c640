# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret field reaches an inventory host variable or the inventory cache (issue 12, item 2)."""

from __future__ import annotations

import json

from ansible_collections.ctcloud.cloud.plugins.inventory.ct_boxes import BOX_HOSTVARS
from ansible_collections.ctcloud.cloud.plugins.inventory.cthings import DEVICE_HOSTVARS
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.errors import REDACTED
from ansible_collections.ctcloud.cloud.plugins.module_utils._api.secret_fields import ALL_SECRET_FIELDS
from ansible_collections.ctcloud.cloud.plugins.plugin_utils import records_cache


def test_the_inventory_cache_never_holds_a_secret_and_masks_one_an_older_version_stored():
    records = [{"slug": "ap-1", "location": {"meraki_secret": "0123456789abcdef"}}, {"slug": "ap-2"}]
    encoded = records_cache.encode(records)
    assert "0123456789abcdef" not in encoded["records"]
    assert records_cache.decode(encoded)[0]["location"]["meraki_secret"] == REDACTED
    written_by_0_1_0 = {"format": 1, "count": 2, "records": json.dumps(records)}
    assert records_cache.decode(written_by_0_1_0)[0]["location"]["meraki_secret"] == REDACTED
    assert records[0]["location"]["meraki_secret"] == "0123456789abcdef"  # the caller's records are not changed


def test_no_host_variable_reads_a_secret_field():
    """Host variables come from fixed tables of fields: none may name a secret one (or the inventory would show it)."""
    probe = {field: {"x": 1} for field in ALL_SECRET_FIELDS}
    for table in (BOX_HOSTVARS, DEVICE_HOSTVARS):
        for name, extract in table.items():
            assert name not in ALL_SECRET_FIELDS
            assert extract(probe) is None, name
