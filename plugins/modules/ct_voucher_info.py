#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_voucher_info
short_description: List the voucher batches of a CT location, optionally with their codes
version_added: 0.1.0
description:
  - Returns the voucher batches of one CT location, every page of them, optionally filtered.
  - With O(return_codes=true) each batch also carries its login codes. Codes are credentials; see RV(vouchers[].codes).
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct_action_group
  - ctcloud.cloud.attributes.info_module
options:
  location:
    description:
      - The location, by numeric id, slug or name (API C(location_name)). A value that looks like an id or slug is
        tried as one first, then as a name. A name shared by several locations is an error; a location that does
        not exist is an error too.
    type: str
    required: true
  id:
    description:
      - The C(unique_id) of one batch, as the API returns it. The result is a list of that one batch, or empty.
    type: str
  batch_name:
    description:
      - Only batches with exactly this name (compared without surrounding spaces and in Unicode NFC), read with CT's
        exact filter. When that filter finds none (it compares spaces and normalisation exactly), the location's whole
        batch list is read and compared the same way.
    type: str
  q:
    description:
      - CT's search over the batch names. It is a search engine, not a filter - it may match words separately, and it may
        not yet know about a batch made moments ago. Use O(batch_name) to find one batch.
    type: str
  active:
    description: Only active (V(true)) or only deactivated (V(false)) batches (API C(is_active)). Default is both.
    type: bool
  return_codes:
    description:
      - Add each batch's login codes, every page of them, as RV(vouchers[].codes). One extra request (or more, for
        batches over 100 codes) per batch.
      - Codes are credentials. Set C(no_log) on the task so that they are not printed or logged. Read them in a task
        of its own, after the task that creates the batch (M(ctcloud.cloud.ct_voucher) without O(ctcloud.cloud.ct_voucher#module:return_codes)),
        so that C(no_log) hides no error of the create.
    type: bool
    default: false
seealso:
  - module: ctcloud.cloud.ct_voucher
"""

EXAMPLES = r"""
- name: Every batch of a location
  ctcloud.cloud.ct_voucher_info:
    location: Brighton Seafront Cafe
  register: batches

- name: Their names and whether their codes are generated
  ansible.builtin.debug:
    msg: "{{ batches.vouchers | items2dict(key_name='batch_name', value_name='completed') }}"

- name: The codes of the active conference batches (codes are credentials)
  ctcloud.cloud.ct_voucher_info:
    location: "1813"
    q: conference
    active: true
    return_codes: true
  no_log: true
  register: conference
"""

RETURN = r"""
location:
  description: The location the batches belong to, as the API returns it.
  returned: always
  type: dict
  sample:
    id: "1813"
    location_name: Brighton Seafront Cafe
    slug: brighton-seafront-cafe-iajpng9akeztfqknmlfusw
vouchers:
  description: The batches, as the API returns them, in the API's order.
  returned: always
  type: list
  elements: dict
  contains:
    codes:
      description:
        - The batch's login codes (C(username), C(password), C(serial), C(active)). B(Sensitive) -
          these are credentials; run the task with C(no_log).
        - Empty while the batch is not C(completed).
      returned: when O(return_codes=true)
      type: list
      elements: dict
  sample:
    - unique_id: 6f1e2d3c4b5a69788796a5b4c3d2e1f0
      location_id: "1813"
      batch_name: Conference 2024-06-12
      batch_description: Day passes for delegates
      quantity: 50
      access_type: 1
      validity_minutes: 1440
      is_active: true
      completed: true
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.location import find_location, missing_location
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.voucher import VoucherResource, unique_id
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def run(module):
    p = module.params
    location_ref = validation.text(p["location"], "location", 1, 200)
    voucher_id = unique_id(p["id"]) if p["id"] is not None else None
    batch_name = validation.text(p["batch_name"], "batch_name", 1, 100) if p["batch_name"] is not None else None
    location = find_location(module.client, location_ref)
    if location is None:
        raise missing_location(location_ref)
    resource = VoucherResource(module.client, location["id"])
    vouchers = resource.query(voucher_id, batch_name, p["q"])
    if p["active"] is not None:
        vouchers = [batch for batch in vouchers if bool(batch.get("is_active")) == p["active"]]
    if p["return_codes"]:
        vouchers = [dict(batch, codes=resource.codes(batch) if batch.get("completed") else []) for batch in vouchers]
    return {"changed": False, "location": location, "vouchers": vouchers}


def main():
    module = CtCloudModule(
        {
            "location": {"type": "str", "required": True},
            "id": {"type": "str"},
            "batch_name": {"type": "str"},
            "q": {"type": "str"},
            "active": {"type": "bool"},
            "return_codes": {"type": "bool", "default": False},
        },
        cloud="ct",
        supports_check_mode=True,
        mutually_exclusive=[("id", "q")],
    )
    module.run(run)


if __name__ == "__main__":
    main()
