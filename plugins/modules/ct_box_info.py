#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) ctcloud.cloud contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ct_box_info
short_description: List CT boxes (access points)
version_added: 0.1.0
description:
  - Returns CT boxes, every page of them, filtered with the API's filters.
  - Filters combine (a box must match all of them). CT applies O(location), O(state), O(firmware_version),
    O(machine_type) and O(q), and its answer is returned as it is; only O(mac), which the API has no filter for, is
    applied by the module.
author:
  - ctcloud.cloud contributors (@ctcloud)
extends_documentation_fragment:
  - ctcloud.cloud.ct
  - ctcloud.cloud.token_store
  - ctcloud.cloud.attributes
  - ctcloud.cloud.attributes.ct_action_group
  - ctcloud.cloud.attributes.info_module
options:
  slug:
    description:
      - The slug of one box. The result is a list of that one box (if it matches the other filters), or empty.
      - With O(state), O(firmware_version), O(machine_type) or O(q) as well, the box is picked from the list CT
        filtered, so that CT decides whether it matches.
    type: str
  location:
    description:
      - Only the boxes of this location, given by numeric id, slug or name.
      - A location that does not exist, or a name that matches several locations, is an error.
    type: str
  state:
    description: Only boxes in this state.
    type: str
    choices: [online, offline, splash_only, new, processing, rebooting, upgrading]
  firmware_version:
    description: Only boxes with exactly this firmware version, for example V(2.7.0).
    type: str
  machine_type:
    description: Only boxes of this machine type, for example V(MR36).
    type: str
  q:
    description:
      - CT's search. CT decides what it matches (the description, the MAC in the API's spellings, the slug, the serial
        number...); every box it answers is returned, none is filtered out again.
    type: str
  mac:
    description:
      - Only the box with this MAC (API C(calledstationid)), in any common spelling (V(aa:bb:cc:dd:ee:ff),
        V(AA-BB-CC-DD-EE-FF), V(aabb.ccdd.eeff), V(aabbccddeeff)).
      - The API's spellings (colons or dashes) are normalised before comparing. This filter is the module's own (the
        API has none), applied to what CT returns.
    type: str
    aliases: [calledstationid]
seealso:
  - module: ctcloud.cloud.ct_box_reboot
"""

EXAMPLES = r"""
- name: Every box
  ctcloud.cloud.ct_box_info:
  register: all_boxes

- name: Offline boxes of one site
  ctcloud.cloud.ct_box_info:
    location: Brighton Seafront Cafe
    state: offline
  register: offline

- name: Which box has this MAC?
  ctcloud.cloud.ct_box_info:
    mac: 00180a123456
  register: found

- name: MR36 boxes still on firmware 2.6.1
  ctcloud.cloud.ct_box_info:
    machine_type: MR36
    firmware_version: 2.6.1
  register: outdated
"""

RETURN = r"""
boxes:
  description:
    - The boxes, as the API returns them, in the API's order; C(id) as a digit string (CT sends an integer), and
      C(is_online) and C(allowed_job) V(true)/V(false) even where CT sends V(1)/V(0).
  returned: always
  type: list
  elements: dict
  sample:
    - id: "5001"
      slug: ap-pzh2ljx7x0
      location_id: "1015"
      location_slug: sports-club-reading-wo53rpefg7dta30974xi5a
      calledstationid: F0:9F:C2:E4:E1:EC
      description: Terrace West
      state: online
      is_online: true
      allowed_job: true
      last_heartbeat: 1699999885
      uptime_seconds: 2305442
      machine_type: MR36
      firmware_version: 2.7.0
"""

from ansible_collections.ctcloud.cloud.plugins.module_utils._api import validation
from ansible_collections.ctcloud.cloud.plugins.module_utils._resources.box import BOX_STATES, INFO_FILTERS, BoxResource, has_mac
from ansible_collections.ctcloud.cloud.plugins.module_utils.module_base import CtCloudModule


def run(module):
    p = module.params
    filters = {name: p[name] for name in INFO_FILTERS}
    slug = validation.id_or_slug(p["slug"], "slug") if p["slug"] is not None else None
    mac = validation.mac_address(p["mac"], "mac") if p["mac"] is not None else None
    location = validation.text(p["location"], "location", 1, 200) if p["location"] is not None else None
    resource = BoxResource(module.client)
    location_slug = resource.location_slug(location) if location is not None else None
    if slug is not None and not any(value is not None for value in filters.values()):
        found = resource.get(slug)
        boxes = [found] if found and location_slug in (None, found.get("location_slug")) else []
    else:
        # CT's filters are CT's to apply (a search may match fields we do not know of): never applied again here.
        boxes = resource.list_boxes(dict(filters, location_id=location_slug))  # None values are not sent
        boxes = [box for box in boxes if slug in (None, box.get("slug"))]
    return {"changed": False, "boxes": [box for box in boxes if has_mac(box, mac)]}


def main():
    module = CtCloudModule(
        {
            "slug": {"type": "str"},
            "location": {"type": "str"},
            "state": {"type": "str", "choices": list(BOX_STATES)},
            "firmware_version": {"type": "str"},
            "machine_type": {"type": "str"},
            "q": {"type": "str"},
            "mac": {"type": "str", "aliases": ["calledstationid"]},
        },
        cloud="ct",
        supports_check_mode=True,
    )
    module.run(run)


if __name__ == "__main__":
    main()
